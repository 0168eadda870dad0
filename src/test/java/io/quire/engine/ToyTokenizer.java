package io.quire.engine;

import io.quire.model.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;

/**
 * A tokenizer for engine tests: 0 unk, 1 BOS, 2 EOS (control tokens), 3 and 4 the two bytes of
 * "é" (so a character can be split across tokens), every other id one letter, a space after every
 * fifth letter.
 */
final class ToyTokenizer implements Tokenizer {
    static final int BOS = 1, EOS = 2;
    private final int vocabSize;

    ToyTokenizer(int vocabSize) { this.vocabSize = vocabSize; }

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        throw new UnsupportedOperationException("tests pass token ids");
    }

    @Override
    public byte[] tokenBytes(int id) {
        if (id <= EOS) return new byte[0];
        if (id == 3) return new byte[]{(byte) 0xC3};
        if (id == 4) return new byte[]{(byte) 0xA9};
        String s = String.valueOf((char) ('a' + (id - 5) % 26)) + ((id - 5) % 5 == 0 ? " " : "");
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int id) {
        return switch (id) {
            case 0 -> "<unk>";
            case 1 -> "<s>";
            case 2 -> "</s>";
            default -> new String(tokenBytes(id), StandardCharsets.ISO_8859_1);
        };
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) out.writeBytes(tokenBytes(id));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override public int vocabSize() { return vocabSize; }
    @Override public int bosId() { return BOS; }
    @Override public int eosId() { return EOS; }
    @Override public boolean addBos() { return true; }
    @Override public Set<Integer> endOfGenerationIds() { return Set.of(EOS); }
    @Override public boolean isSpecial(int id) { return id <= EOS; }
}
