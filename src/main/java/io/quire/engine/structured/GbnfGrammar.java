package io.quire.engine.structured;

/** Placeholder replaced below. */
final class GbnfGrammar {
    static GbnfGrammar parse(String text) { throw new ConstraintException("grammar constraints are not implemented yet."); }
    RegexNode toRegex() { throw new IllegalStateException(); }
}
