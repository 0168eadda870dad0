package io.quire.engine.structured;

import io.quire.model.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * Generates under a constraint as the sampler would at temperature 1 on flat logits: every step a
 * uniformly random allowed token, so only the mask makes the output valid.
 */
final class ConstraintWalk {
    private ConstraintWalk() {}

    record Result(String text, boolean endedByEos, int tokens) {}

    static Result run(TokenConstraint c, Tokenizer tok, int maxTokens, Random random) {
        ConstraintState state = new ConstraintState(c);
        float[] flat = new float[tok.vocabSize()], out = new float[tok.vocabSize()];
        int[] allowed = new int[tok.vocabSize()];
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < maxTokens; i++) {
            state.mask(flat, out, maxTokens - i);
            int n = 0;
            for (int id = 0; id < out.length; id++) if (out[id] != Float.NEGATIVE_INFINITY) allowed[n++] = id;
            int token = allowed[random.nextInt(n)];
            if (tok.endOfGenerationIds().contains(token)) return new Result(bytes.toString(StandardCharsets.UTF_8), true, i + 1);
            state.advance(token);
            bytes.writeBytes(tok.tokenBytes(token));
        }
        return new Result(bytes.toString(StandardCharsets.UTF_8), false, maxTokens);
    }

    static int[] allowed(ConstraintState state, int vocab) {
        float[] out = state.mask(new float[vocab], new float[vocab], Integer.MAX_VALUE);
        return java.util.stream.IntStream.range(0, vocab).filter(i -> out[i] != Float.NEGATIVE_INFINITY).toArray();
    }

    static String describe(int[] ids) { return Arrays.toString(ids); }
}
