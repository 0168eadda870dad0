package io.quire.cli.bench;

/** Counts the tokens a server would see for a prompt, special tokens (BOS) included. */
public interface TokenCounter {
    int count(String text);

    /** A one-line description for the report. */
    String describe();
}
