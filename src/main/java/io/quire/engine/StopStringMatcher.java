package io.quire.engine;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that might still turn into a stop string (a suffix
 * that is a prefix of one) is held back until it can no longer match; everything before it is
 * released. When a stop string appears, the text before it is released (plus the stop string
 * itself when {@code includeStop}) and nothing after it ever is.
 */
public final class StopStringMatcher {
    private final List<String> stops;
    private final boolean includeStop;
    private final StringBuilder pending = new StringBuilder();
    private String matched;

    public StopStringMatcher(List<String> stops, boolean includeStop) {
        this.stops = List.copyOf(stops);
        this.includeStop = includeStop;
    }

    /** The stop string that ended the text, or null. */
    public String matched() { return matched; }

    /**
     * Adds newly decoded text and returns what can be released now.
     *
     * @param matchStops false while min_tokens is not reached: stop strings do not count yet
     */
    public String add(String text, boolean matchStops) {
        if (matched != null) return "";
        pending.append(text);
        if (stops.isEmpty()) return drain(pending.length());
        if (matchStops) {
            int at = -1;
            String hit = null;
            for (String s : stops) {
                int i = pending.indexOf(s);
                if (i >= 0 && (at < 0 || i < at)) { at = i; hit = s; }
            }
            if (hit != null) {
                matched = hit;
                String out = pending.substring(0, includeStop ? at + hit.length() : at);
                pending.setLength(0);
                return out;
            }
        }
        return drain(pending.length() - heldBack());
    }

    /** Releases whatever is held back (the sequence ended for another reason). */
    public String flush() {
        return matched != null ? "" : drain(pending.length());
    }

    /** Length of the longest suffix of the pending text that is a proper prefix of a stop string. */
    private int heldBack() {
        String text = pending.toString();
        int best = 0;
        for (String s : stops) {
            for (int len = Math.min(s.length() - 1, text.length()); len > best; len--) {
                if (text.regionMatches(text.length() - len, s, 0, len)) { best = len; break; }
            }
        }
        return best;
    }

    private String drain(int n) {
        String out = pending.substring(0, n);
        pending.delete(0, n);
        return out;
    }
}
