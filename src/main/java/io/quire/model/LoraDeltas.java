package io.quire.model;

import io.quire.backend.cpu.LowRank;

import java.util.Arrays;

/**
 * The LoRA updates of one part of a step: each of its sequences adds the update of the adapter it
 * runs with (none for 0) to each projection that adapter adapts, over its own rows, so sequences
 * of different adapters and of none share the step and the base model's products. The rows of all
 * sequences of one adapter are updated together, so a decode step of many sequences makes one
 * parallel pass per adapter, not one small one per sequence.
 */
final class LoraDeltas {
    private final LoraAdapter[] adapters;
    /** The adapters (slot - 1) this part uses, and for each, its rows. */
    private final int[] used;
    private final int[][] rows;

    private LoraDeltas(LoraAdapter[] adapters, int[] used, int[][] rows) {
        this.adapters = adapters;
        this.used = used;
        this.rows = rows;
    }

    /** The updates of {@code part} with the model's {@code adapters}; null when none of its sequences has one. */
    static LoraDeltas of(LoraAdapter[] adapters, ForwardBatch part) {
        if (!part.hasAdapters()) return null;
        int[] slots = part.adapters(), queryStart = part.queryStart();
        int[] count = new int[adapters.length];
        for (int s = 0; s < slots.length; s++) {
            if (slots[s] < 0 || slots[s] > adapters.length) {
                throw new IllegalArgumentException("adapter " + slots[s] + " of a batch where the model has "
                        + adapters.length);
            }
            if (slots[s] > 0) count[slots[s] - 1] += queryStart[s + 1] - queryStart[s];
        }
        int[] used = new int[adapters.length];
        int[][] rows = new int[adapters.length][];
        int n = 0;
        for (int i = 0; i < adapters.length; i++) {
            if (count[i] == 0) continue;
            used[n] = i;
            rows[n] = new int[count[i]];
            int r = 0;
            for (int s = 0; s < slots.length; s++) {
                if (slots[s] != i + 1) continue;
                for (int t = queryStart[s]; t < queryStart[s + 1]; t++) rows[n][r++] = t;
            }
            n++;
        }
        return new LoraDeltas(adapters, Arrays.copyOf(used, n), Arrays.copyOf(rows, n));
    }

    /** Adds to the rows of {@code y} (the module's outputs) their adapters' updates from the inputs {@code x}. */
    void add(int layer, LoraAdapter.Module module, float[] x, float[] y) {
        for (int i = 0; i < used.length; i++) {
            LoraAdapter.Update u = adapters[used[i]].update(layer, module);
            if (u == null) continue;
            LowRank.add(x, u.in(), u.a(), u.bt(), u.rank(), u.scale(), y, u.out(), rows[i], rows[i].length);
        }
    }
}
