package io.quire.api;

import io.quire.api.wire.ChatLogprobs;
import io.quire.api.wire.ChatTokenLogprob;
import io.quire.api.wire.CompletionLogprobs;
import io.quire.engine.TokenLogprob;
import io.quire.model.tokenizer.Tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Engine logprobs in OpenAI's two shapes. A token is shown as its text (or, asked for, as
 * {@code token_id:N}); a byte-fallback piece that is not valid UTF-8 on its own is shown as
 * {@code bytes:\xNN} (as vLLM does), and
 * {@code -inf} is clamped to -9999 because JSON has no infinity.
 */
final class LogprobsFormatter {
    private final Tokenizer tokenizer;
    /** vLLM's return_tokens_as_token_ids: each token shown as {@code token_id:N}. */
    private final boolean asTokenIds;

    LogprobsFormatter(Tokenizer tokenizer) {
        this(tokenizer, false);
    }

    private LogprobsFormatter(Tokenizer tokenizer, boolean asTokenIds) {
        this.tokenizer = tokenizer;
        this.asTokenIds = asTokenIds;
    }

    /** This formatter, or with {@code asTokenIds} one that shows tokens as {@code token_id:N}, as vLLM does. */
    LogprobsFormatter withTokenIds(boolean asTokenIds) {
        return asTokenIds == this.asTokenIds ? this : new LogprobsFormatter(tokenizer, asTokenIds);
    }

    String tokenString(int id) {
        if (asTokenIds) return "token_id:" + id;
        byte[] bytes = tokenizer.tokenBytes(id);
        if (bytes.length == 0) return tokenizer.piece(id);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            StringBuilder sb = new StringBuilder("bytes:");
            for (byte b : bytes) sb.append(String.format("\\x%02x", b & 0xff));
            return sb.toString();
        }
    }

    List<Integer> tokenBytes(int id) {
        // As vLLM: with token ids shown, the bytes are those of the shown string.
        byte[] bytes = asTokenIds ? tokenString(id).getBytes(StandardCharsets.UTF_8) : tokenizer.tokenBytes(id);
        if (bytes.length == 0) bytes = tokenizer.piece(id).getBytes(StandardCharsets.UTF_8);
        List<Integer> out = new ArrayList<>(bytes.length);
        for (byte b : bytes) out.add(b & 0xff);
        return out;
    }

    static float clamp(float logprob) {
        return Float.isNaN(logprob) ? -9999f : Math.max(logprob, -9999f);
    }

    /**
     * The legacy completions shape for {@code logprobs}; {@code offset} is where the first token's
     * text starts in the choice's text, and is advanced past the tokens.
     */
    CompletionLogprobs completion(List<TokenLogprob> logprobs, int[] offset) {
        List<Integer> offsets = new ArrayList<>(logprobs.size());
        List<Float> values = new ArrayList<>(logprobs.size());
        List<String> tokens = new ArrayList<>(logprobs.size());
        List<Map<String, Float>> top = new ArrayList<>(logprobs.size());
        for (TokenLogprob lp : logprobs) {
            String token = tokenString(lp.tokenId());
            offsets.add(offset[0]);
            offset[0] += token.length();
            tokens.add(token);
            values.add(clamp(lp.logprob()));
            Map<String, Float> alternatives = new LinkedHashMap<>();
            if (lp.top() != null) {
                for (TokenLogprob.Candidate c : lp.top()) alternatives.putIfAbsent(tokenString(c.tokenId()),
                        clamp(c.logprob()));
            }
            top.add(alternatives);
        }
        return new CompletionLogprobs(offsets, values, tokens, top);
    }

    ChatLogprobs chat(List<TokenLogprob> logprobs) {
        List<ChatTokenLogprob> content = new ArrayList<>(logprobs.size());
        for (TokenLogprob lp : logprobs) {
            List<ChatTokenLogprob> top = new ArrayList<>();
            if (lp.top() != null) {
                for (TokenLogprob.Candidate c : lp.top()) {
                    top.add(new ChatTokenLogprob(tokenString(c.tokenId()), clamp(c.logprob()), tokenBytes(c.tokenId()),
                            null));
                }
            }
            content.add(new ChatTokenLogprob(tokenString(lp.tokenId()), clamp(lp.logprob()), tokenBytes(lp.tokenId()),
                    top));
        }
        return new ChatLogprobs(content);
    }
}
