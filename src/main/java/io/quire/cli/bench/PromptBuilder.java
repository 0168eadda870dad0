package io.quire.cli.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Synthetic prompts of a requested token length for a server whose tokenizer we do not have.
 * Prompts are random sequences of common English words (seeded, so a run is repeatable, and
 * different for every request, so that only an explicit shared prefix can hit a prefix cache).
 *
 * <p>Calibration measures, with the {@link TokenCounter}, what each candidate word costs after
 * another word and keeps the cheapest ones (one token each in most vocabularies); it also finds
 * the special tokens the server adds (BOS). A prompt is then guessed from those costs and
 * corrected by counting: words are appended or dropped until the count is exact, which takes
 * one count per prompt when word costs add up, as they do for tokenizers that split on spaces.
 * When exactness cannot be reached within a few rounds the closest prompt not above the target
 * is kept (and the measured length reported).
 */
public final class PromptBuilder {
    static final List<String> WORDS = List.of(
            "the", "a", "and", "of", "to", "in", "is", "it", "that", "was", "he", "she", "for", "on", "are", "as",
            "with", "his", "her", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word",
            "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each",
            "which", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them",
            "these", "so", "some", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more",
            "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water",
            "been", "call", "who", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made",
            "may", "part", "sun", "tree", "dog", "cat", "big", "little", "happy", "play", "friend", "park", "ball",
            "red", "blue", "mom", "home", "good", "very", "saw", "went", "bird", "fish", "run", "old");
    private static final int MAX_ROUNDS = 12;

    private final TokenCounter counter;
    private final List<String> vocabulary;
    private final int wordCost;
    private final int specialTokens;

    private PromptBuilder(TokenCounter counter, List<String> vocabulary, int wordCost, int specialTokens) {
        this.counter = counter;
        this.vocabulary = vocabulary;
        this.wordCost = wordCost;
        this.specialTokens = specialTokens;
    }

    /** Measures word costs and special tokens with {@code counter}. */
    public static PromptBuilder calibrate(TokenCounter counter) {
        String anchor = "the";
        int base = counter.count(anchor);
        record Cost(String word, int tokens) {}
        List<Cost> costs = new ArrayList<>();
        for (String w : WORDS.stream().distinct().toList()) {
            costs.add(new Cost(w, counter.count(anchor + " " + w) - base));
        }
        int anchorCost = counter.count(anchor + " " + anchor) - base;
        int cheapest = costs.stream().mapToInt(Cost::tokens).filter(t -> t > 0).min().orElse(1);
        List<String> vocabulary = costs.stream()
                .filter(c -> c.tokens() == cheapest)
                .sorted(Comparator.comparing(Cost::word))
                .map(Cost::word)
                .toList();
        return new PromptBuilder(counter, vocabulary, cheapest, Math.max(0, base - anchorCost));
    }

    /** Tokens the server adds to every prompt (BOS), as calibration measured them. */
    public int specialTokens() {
        return specialTokens;
    }

    public List<String> vocabulary() {
        return vocabulary;
    }

    /**
     * A text that alone counts {@code tokens} tokens besides the special ones, to be shared by
     * every prompt; empty for zero.
     */
    public Prompt prefix(int tokens, Random rng) {
        if (tokens == 0) return new Prompt("", 0);
        Prompt p = extend("", tokens + specialTokens, rng);
        return new Prompt(p.text(), p.tokens() - specialTokens);
    }

    /**
     * A prompt that starts with {@code prefix} and counts {@code totalTokens} tokens in all,
     * special tokens included (vLLM's convention for {@code --random-input-len} plus
     * {@code --prefix-len}); it always holds at least one word after the prefix.
     */
    public Prompt build(Prompt prefix, int totalTokens, Random rng) {
        return extend(prefix.text(), totalTokens, rng);
    }

    private Prompt extend(String head, int target, Random rng) {
        List<String> words = new ArrayList<>();
        int headCount = head.isEmpty() ? specialTokens : counter.count(head);
        int guess = Math.max(1, (target - headCount) / wordCost);
        for (int i = 0; i < guess; i++) words.add(randomWord(rng));
        int count = counter.count(join(head, words));
        Prompt best = count <= target ? new Prompt(join(head, words), count) : null;
        for (int round = 0; round < MAX_ROUNDS && count != target; round++) {
            if (count < target) {
                int add = Math.max(1, (target - count) / wordCost);
                for (int i = 0; i < add; i++) words.add(randomWord(rng));
            } else {
                if (words.size() <= 1) break;
                int drop = Math.min(words.size() - 1, Math.max(1, (count - target) / wordCost));
                for (int i = 0; i < drop; i++) words.removeLast();
            }
            count = counter.count(join(head, words));
            if (count <= target && (best == null || count > best.tokens())) {
                best = new Prompt(join(head, words), count);
            }
        }
        if (count == target || best == null) return new Prompt(join(head, words), count);
        return best;
    }

    private String randomWord(Random rng) {
        return vocabulary.get(rng.nextInt(vocabulary.size()));
    }

    private static String join(String head, List<String> words) {
        String body = String.join(" ", words);
        return head.isEmpty() ? body : head + " " + body;
    }

    /** A prompt and the tokens the counter measured for it (special tokens included for a full prompt). */
    public record Prompt(String text, int tokens) {}
}
