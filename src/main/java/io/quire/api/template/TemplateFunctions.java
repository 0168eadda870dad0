package io.quire.api.template;

import java.time.ZonedDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * The global functions Hugging Face's template environment provides, as static methods that
 * Jinjava registers as EL functions.
 */
public final class TemplateFunctions {
    private TemplateFunctions() {}

    /** {@code raise_exception(msg)}: templates reject a conversation they cannot render. */
    public static Object raiseException(String message) {
        throw new ChatTemplateException(message);
    }

    /** {@code strftime_now(format)}: the current local time in Python's {@code strftime} format. */
    public static String strftimeNow(String format) {
        return strftime(ZonedDateTime.now(), format);
    }

    static String strftime(ZonedDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) { sb.append(c); continue; }
            char d = format.charAt(++i);
            boolean noPad = false;
            if (d == '-' && i + 1 < format.length()) { noPad = true; d = format.charAt(++i); }
            switch (d) {
                case 'd' -> pad(sb, t.getDayOfMonth(), noPad);
                case 'm' -> pad(sb, t.getMonthValue(), noPad);
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> pad(sb, t.getYear() % 100, noPad);
                case 'H' -> pad(sb, t.getHour(), noPad);
                case 'I' -> pad(sb, (t.getHour() + 11) % 12 + 1, noPad);
                case 'M' -> pad(sb, t.getMinute(), noPad);
                case 'S' -> pad(sb, t.getSecond(), noPad);
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'j' -> sb.append(noPad ? String.valueOf(t.getDayOfYear())
                        : String.format("%03d", t.getDayOfYear()));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(noPad ? "-" : "").append(d);
            }
        }
        return sb.toString();
    }

    private static void pad(StringBuilder sb, int v, boolean noPad) {
        if (!noPad && v < 10) sb.append('0');
        sb.append(v);
    }
}
