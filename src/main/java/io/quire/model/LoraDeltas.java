package io.quire.model;

import io.quire.backend.cpu.LowRank;

/**
 * The LoRA updates of one part of a step: each of its sequences adds the update of the adapter it
 * runs with (none for 0) to each projection that adapter adapts, over its own rows, so sequences
 * of different adapters and of none share the step and the base model's products.
 */
final class LoraDeltas {
    private final LoraAdapter[] adapters;
    private final int[] slots;
    private final int[] queryStart;

    private LoraDeltas(LoraAdapter[] adapters, int[] slots, int[] queryStart) {
        this.adapters = adapters;
        this.slots = slots;
        this.queryStart = queryStart;
    }

    /** The updates of {@code part} with the model's {@code adapters}; null when none of its sequences has one. */
    static LoraDeltas of(LoraAdapter[] adapters, ForwardBatch part) {
        if (!part.hasAdapters()) return null;
        for (int slot : part.adapters()) {
            if (slot < 0 || slot > adapters.length) {
                throw new IllegalArgumentException("adapter " + slot + " of a batch where the model has "
                        + adapters.length);
            }
        }
        return new LoraDeltas(adapters, part.adapters(), part.queryStart());
    }

    /** Adds to the rows of {@code y} (the module's outputs) their sequences' adapters' updates from inputs {@code x}. */
    void add(int layer, LoraAdapter.Module module, float[] x, float[] y) {
        for (int s = 0; s < slots.length; s++) {
            if (slots[s] == 0 || queryStart[s] == queryStart[s + 1]) continue;
            LoraAdapter.Update u = adapters[slots[s] - 1].update(layer, module);
            if (u == null) continue;
            LowRank.add(x, u.in(), u.a(), u.bt(), u.rank(), u.scale(), y, u.out(), queryStart[s], queryStart[s + 1]);
        }
    }
}
