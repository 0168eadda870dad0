package io.quire.engine.structured;

/** A recursive-descent recognizer of the test's arithmetic grammar: the oracle for its outputs. */
final class Arithmetic {
    private final String s;
    private int pos;

    private Arithmetic(String s) {
        this.s = s;
    }

    static boolean parses(String text) {
        Arithmetic a = new Arithmetic(text);
        return a.expr() && a.pos == text.length();
    }

    private boolean expr() {
        if (!term()) return false;
        while (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
            pos++;
            if (!term()) return false;
        }
        return true;
    }

    private boolean term() {
        if (!factor()) return false;
        while (pos < s.length() && (s.charAt(pos) == '*' || s.charAt(pos) == '/')) {
            pos++;
            if (!factor()) return false;
        }
        return true;
    }

    private boolean factor() {
        if (pos < s.length() && s.charAt(pos) == '(') {
            pos++;
            if (!expr() || pos >= s.length() || s.charAt(pos) != ')') return false;
            pos++;
            return true;
        }
        int start = pos;
        while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
        return pos > start;
    }
}
