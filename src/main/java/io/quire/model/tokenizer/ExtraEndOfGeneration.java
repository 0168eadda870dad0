package io.quire.model.tokenizer;

import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;

/** A tokenizer whose end-of-generation ids include more than its vocabulary marks (generation_config.json's). */
record ExtraEndOfGeneration(Tokenizer inner, Set<Integer> endOfGenerationIds) implements Tokenizer {
    static Tokenizer of(Tokenizer inner, Iterable<Integer> extra) {
        Set<Integer> all = new LinkedHashSet<>(inner.endOfGenerationIds());
        for (int id : extra) {
            if (id < 0 || id >= inner.vocabSize()) {
                throw new IllegalArgumentException("end-of-generation id " + id + " is outside the vocabulary of "
                        + inner.vocabSize() + " tokens");
            }
            all.add(id);
        }
        if (all.equals(inner.endOfGenerationIds())) return inner;
        return new ExtraEndOfGeneration(inner, Collections.unmodifiableSet(all));
    }

    @Override public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        return inner.encode(text, addSpecial, parseSpecial);
    }
    @Override public byte[] tokenBytes(int id) { return inner.tokenBytes(id); }
    @Override public String piece(int id) { return inner.piece(id); }
    @Override public String decode(int[] ids) { return inner.decode(ids); }
    @Override public int vocabSize() { return inner.vocabSize(); }
    @Override public int bosId() { return inner.bosId(); }
    @Override public int eosId() { return inner.eosId(); }
    @Override public boolean addBos() { return inner.addBos(); }
    @Override public boolean isSpecial(int id) { return inner.isSpecial(id); }
}
