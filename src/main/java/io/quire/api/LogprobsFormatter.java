package io.quire.api;

import io.quire.api.wire.ChatLogprobs;
import io.quire.api.wire.ChatTokenLogprob;
import io.quire.api.wire.CompletionLogprobs;
import io.quire.api.wire.PromptTokenLogprob;
import io.quire.engine.PromptLogprob;
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
    /** Most alternatives a completions entry shows (the request's logprobs), whatever the engine computed. */
    private final int top;

    LogprobsFormatter(Tokenizer tokenizer) {
        this(tokenizer, false, Integer.MAX_VALUE);
    }

    private LogprobsFormatter(Tokenizer tokenizer, boolean asTokenIds, int top) {
        this.tokenizer = tokenizer;
        this.asTokenIds = asTokenIds;
        this.top = top;
    }

    /** This formatter, or with {@code asTokenIds} one that shows tokens as {@code token_id:N}, as vLLM does. */
    LogprobsFormatter withTokenIds(boolean asTokenIds) {
        return asTokenIds == this.asTokenIds ? this : new LogprobsFormatter(tokenizer, asTokenIds, top);
    }

    /**
     * One whose completions entries show at most {@code k} alternatives besides the token: an echoed prompt's
     * positions may have more, from a larger prompt_logprobs (vLLM caps them the same way).
     */
    LogprobsFormatter withTop(int k) {
        return new LogprobsFormatter(tokenizer, asTokenIds, k);
    }

    String tokenString(int id) {
        return asTokenIds ? "token_id:" + id : plainString(id);
    }

    /** The token's text, whatever {@code asTokenIds} says (vLLM's prompt_logprobs decode every token). */
    private String plainString(int id) {
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
        return echoed(null, null, logprobs, offset);
    }

    /**
     * As {@link #completion}, with an echoed prompt's tokens first (none when {@code prompt} is null), as
     * vLLM: the first one with no logprob and no alternatives (nothing comes before it), each other one's
     * from {@code promptLogprobs}, entry i for prompt token i + 1.
     */
    CompletionLogprobs echoed(int[] prompt, List<PromptLogprob> promptLogprobs, List<TokenLogprob> logprobs,
                              int[] offset) {
        int size = logprobs.size() + (prompt == null ? 0 : prompt.length);
        CompletionLogprobs out = new CompletionLogprobs(new ArrayList<>(size), new ArrayList<>(size),
                new ArrayList<>(size), new ArrayList<>(size));
        if (prompt != null) {
            add(out, prompt[0], null, null, offset);
            for (PromptLogprob p : promptLogprobs) add(out, p.logprob().tokenId(), p.logprob().logprob(),
                    p.logprob().top(), offset);
        }
        for (TokenLogprob lp : logprobs) add(out, lp.tokenId(), lp.logprob(), lp.top(), offset);
        return out;
    }

    /** One token's entries, {@code logprob} null for none (then no alternatives either). */
    private void add(CompletionLogprobs out, int id, Float logprob, List<TokenLogprob.Candidate> top, int[] offset) {
        String token = tokenString(id);
        out.textOffset().add(offset[0]);
        offset[0] += token.length();
        out.tokens().add(token);
        out.tokenLogprobs().add(logprob == null ? null : clamp(logprob));
        Map<String, Float> alternatives = null;
        if (logprob != null) {
            // As OpenAI's legacy shape ("up to logprobs + 1 elements") and vLLM: the token itself, then the top k.
            alternatives = new LinkedHashMap<>();
            alternatives.put(token, clamp(logprob));
            if (top != null) for (int i = 0; i < Math.min(top.size(), this.top); i++) {
                TokenLogprob.Candidate c = top.get(i);
                alternatives.putIfAbsent(tokenString(c.tokenId()), clamp(c.logprob()));
            }
        }
        out.topLogprobs().add(alternatives);
    }

    /**
     * vLLM's {@code prompt_logprobs}: null for the first token, then per position the prompt token's
     * entry and the top k, keyed by token id, each with its logprob, rank and text.
     */
    List<Map<String, PromptTokenLogprob>> prompt(List<PromptLogprob> promptLogprobs) {
        List<Map<String, PromptTokenLogprob>> out = new ArrayList<>(promptLogprobs.size() + 1);
        out.add(null);
        for (PromptLogprob p : promptLogprobs) {
            Map<String, PromptTokenLogprob> position = new LinkedHashMap<>();
            TokenLogprob lp = p.logprob();
            position.put(Integer.toString(lp.tokenId()),
                    new PromptTokenLogprob(clamp(lp.logprob()), p.rank(), plainString(lp.tokenId())));
            for (int i = 0; i < lp.top().size(); i++) {
                TokenLogprob.Candidate c = lp.top().get(i);
                position.putIfAbsent(Integer.toString(c.tokenId()),
                        new PromptTokenLogprob(clamp(c.logprob()), i + 1, plainString(c.tokenId())));
            }
            out.add(position);
        }
        return out;
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
