package io.quire.api;

import io.quire.api.tools.ChatOutputParser;
import io.quire.api.tools.ParsedText;
import io.quire.api.tools.ParsedToolCall;
import io.quire.api.wire.ChatChoice;
import io.quire.api.wire.ChatChunkChoice;
import io.quire.api.wire.ChatCompletionChunk;
import io.quire.api.wire.ChatCompletionResponse;
import io.quire.api.wire.ChatDelta;
import io.quire.api.wire.ChatLogprobs;
import io.quire.api.wire.ChatResponseMessage;
import io.quire.api.wire.ToolCall;
import io.quire.api.wire.Usage;
import io.quire.engine.FinishReason;
import io.quire.engine.PromptLogprob;
import io.quire.engine.SequenceDelta;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code /v1/chat/completions} choices: a stream opens each choice with a
 * {@code delta.role = "assistant"} chunk (as OpenAI), then sends its text as {@code delta.content}.
 * When the request uses a reasoning or tool-call parser, each choice's text goes through its own
 * {@link ChatOutputParser}: thinking becomes {@code reasoning_content}, calls {@code tool_calls}
 * (and a choice that called ends with {@code finish_reason: "tool_calls"}).
 */
final class ChatChoiceFormat implements ChoiceFormat {
    private final String id;
    private final long created;
    private final String model;
    /** Null: no logprobs asked for. */
    private final LogprobsFormatter logprobs;
    /** For prompt_logprobs. */
    private final LogprobsFormatter prompts;
    /** Null: text passes through as content. */
    private final Supplier<ChatOutputParser> parsers;
    /** Per streamed choice: its parser and how many calls it has made. */
    private final Map<Integer, ChatOutputParser> open = new HashMap<>();
    private final Map<Integer, Integer> callCounts = new HashMap<>();
    /** vLLM's return_token_ids: the prompt's (null: not asked for), and per streamed choice the ids held back. */
    private final int[] promptTokenIds;
    private final Map<Integer, int[]> heldIds = new HashMap<>();
    /** vLLM's echo: the last message's text each reply starts with (null: none), past the parsers, as vLLM. */
    private final String echoed;

    ChatChoiceFormat(String id, long created, String model, LogprobsFormatter logprobs, LogprobsFormatter prompts,
                     Supplier<ChatOutputParser> parsers, int[] promptTokenIds, String echoed) {
        this.echoed = echoed;
        this.prompts = prompts;
        this.promptTokenIds = promptTokenIds;
        this.id = id;
        this.created = created;
        this.model = model;
        this.logprobs = logprobs;
        this.parsers = parsers;
    }

    @Override
    public Object head(int choice, List<PromptLogprob> promptLogprobs) {
        ChatDelta delta = new ChatDelta("assistant", echoed == null ? "" : echoed);
        ChatChunkChoice c = new ChatChunkChoice(choice, delta, null, null, promptTokenIds == null ? null : new int[0]);
        // The first chunk (choice 0's head, sent before anything else) carries the prompt's token ids.
        return new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(c), null,
                choice == 0 ? promptTokenIds : null);
    }

    /**
     * The token ids a chunk of the choice shows (null: not asked for): those held back with text a parser
     * kept, then the delta's; {@code emitted} false holds them all back for the next chunk.
     */
    private int[] ids(int choice, SequenceDelta d, boolean emitted) {
        if (promptTokenIds == null) return null;
        int[] held;
        synchronized (heldIds) {
            held = heldIds.remove(choice);
        }
        int[] delta = d.tokenIds() == null ? new int[0] : d.tokenIds();
        int[] all = held == null ? delta : concat(held, delta);
        if (emitted) return all;
        synchronized (heldIds) {
            heldIds.put(choice, all);
        }
        return null;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Override
    public boolean showsTokenIds() { return promptTokenIds != null; }

    @Override
    public Object chunk(int choice, SequenceDelta d) {
        ChatLogprobs lp = logprobs == null ? null : logprobs.chat(d.logprobs() == null ? List.of() : d.logprobs());
        String text = d.text() == null ? "" : d.text();
        if (parsers == null) {
            return chunk(new ChatChunkChoice(choice, new ChatDelta(null, text.isEmpty() ? null : text), lp,
                    OpenAiFormat.finishReason(d.finishReason()), ids(choice, d, true)));
        }
        ParsedText parsed;
        int before;
        synchronized (open) {
            ChatOutputParser parser = open.computeIfAbsent(choice, c -> parsers.get());
            parsed = parser.push(text);
            if (d.finishReason() != null) parsed = parsed.then(parser.finish());
            before = callCounts.getOrDefault(choice, 0);
            callCounts.put(choice, before + parsed.calls().size());
        }
        String finish = finishReason(d.finishReason(), before + parsed.calls().size() > 0);
        if (parsed.isEmpty() && lp == null && finish == null) {
            ids(choice, d, false);
            return null;
        }
        ChatDelta delta = new ChatDelta(null, emptyToNull(parsed.content()), emptyToNull(parsed.reasoning()),
                parsed.calls().isEmpty() ? null : toolCalls(parsed.calls(), before));
        return chunk(new ChatChunkChoice(choice, delta, lp, finish, ids(choice, d, true)));
    }

    @Override
    public Object withUsage(Object chunk, Usage usage) {
        ChatCompletionChunk c = (ChatCompletionChunk) chunk;
        return new ChatCompletionChunk(c.id(), c.object(), c.created(), c.model(), c.choices(), usage,
                c.promptTokenIds());
    }

    @Override
    public Object usageChunk(Usage usage) {
        return new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(), usage);
    }

    @Override
    public Object response(List<ChoiceAccumulator> collected, Usage usage) {
        List<ChatChoice> choices = new ArrayList<>(collected.size());
        for (int i = 0; i < collected.size(); i++) {
            ChoiceAccumulator a = collected.get(i);
            ChatResponseMessage message;
            String finish;
            if (parsers == null) {
                message = new ChatResponseMessage("assistant", a.text.toString());
                finish = OpenAiFormat.finishReason(a.finishReason);
            } else {
                ChatOutputParser parser = parsers.get();
                ParsedText all = parser.push(a.text.toString()).then(parser.finish());
                List<ToolCall> calls = all.calls().isEmpty() ? List.of() : toolCalls(all.calls(), null);
                // Only calls, or only thinking: no content at all (null), as OpenAI and vLLM send it.
                String content = all.content().isEmpty() && (!calls.isEmpty() || !all.reasoning().isEmpty())
                        ? null : all.content();
                message = new ChatResponseMessage("assistant", content, emptyToNull(all.reasoning()), calls);
                finish = finishReason(a.finishReason, !calls.isEmpty());
            }
            if (echoed != null) {
                message = new ChatResponseMessage(message.role(), echoed + (message.content() == null ? ""
                        : message.content()), message.reasoningContent(), message.toolCalls());
            }
            choices.add(new ChatChoice(i, message, logprobs == null ? null : logprobs.chat(a.logprobs), finish,
                    promptTokenIds == null ? null : a.tokenIds()));
        }
        // vLLM's prompt_logprobs, when asked for: the one prompt's, on the response
        List<PromptLogprob> prompt = collected.isEmpty() ? null : collected.getFirst().promptLogprobs;
        return new ChatCompletionResponse(id, ChatCompletionResponse.OBJECT, created, model, choices, usage,
                prompt == null ? null : prompts.prompt(prompt), promptTokenIds);
    }

    /** A choice that made calls and stopped on its own ends with "tool_calls", as OpenAI's do. */
    private static String finishReason(FinishReason reason, boolean called) {
        if (reason == FinishReason.STOP && called) return "tool_calls";
        return OpenAiFormat.finishReason(reason);
    }

    /** Calls as the wire has them: numbered from {@code firstIndex} in a stream, unnumbered (null) in a message. */
    private static List<ToolCall> toolCalls(List<ParsedToolCall> calls, Integer firstIndex) {
        List<ToolCall> out = new ArrayList<>(calls.size());
        for (int i = 0; i < calls.size(); i++) {
            ParsedToolCall c = calls.get(i);
            out.add(new ToolCall(firstIndex == null ? null : firstIndex + i, OpenAiFormat.newToolCallId(),
                    ToolCall.TYPE, new ToolCall.Function(c.name(), c.arguments())));
        }
        return out;
    }


    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }

    private ChatCompletionChunk chunk(ChatChunkChoice choice) {
        return new ChatCompletionChunk(id, ChatCompletionChunk.OBJECT, created, model, List.of(choice), null);
    }
}
