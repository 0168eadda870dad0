package io.quire.cli.bench;

/**
 * The fallback when the server has no {@code /tokenize}: one token per whitespace-separated
 * word and no special tokens. Prompts are made of common short English words, which Llama- and
 * GPT-class vocabularies hold as single tokens, so a real server sees about one token more (its
 * BOS) than asked; smaller vocabularies split words and see more. The report's input token
 * counts still come from the server's {@code usage} whenever it sends one.
 */
public final class WordCountTokenCounter implements TokenCounter {
    @Override
    public int count(String text) {
        String s = text.strip();
        return s.isEmpty() ? 0 : s.split("\\s+").length;
    }

    @Override
    public String describe() {
        return "approximate (one token per word; the server has no /tokenize)";
    }
}
