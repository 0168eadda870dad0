package io.quire.api.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.tree.Node;

import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

/**
 * Stops a render early. Jinjava renders on the caller's thread, never looks at a clock, and
 * carries on after most errors (a loop whose body fails keeps looping); this runs as its node
 * pre-processor, before every tag, expression and text node, and aborts the render once the
 * thread's deadline has passed or an error that fails the render has been recorded. Loops and
 * macro calls all render nodes, so no template runs on for long past either.
 */
final class RenderGuard implements BiConsumer<Node, JinjavaInterpreter> {
    private final Duration limit;
    private final RenderFailures failures;
    private final ThreadLocal<State> current = new ThreadLocal<>();

    /** The render running on this thread: its System.nanoTime() deadline, errors already checked. */
    private static final class State {
        final long deadline;
        int checkedErrors;

        State(long deadline) { this.deadline = deadline; }
    }

    RenderGuard(Duration limit, RenderFailures failures) {
        this.limit = limit;
        this.failures = failures;
    }

    /** Runs {@code render} with a fresh deadline; past it, whatever the render did, it failed. */
    <T> T run(Supplier<T> render) {
        State state = new State(System.nanoTime() + limit.toNanos());
        current.set(state);
        try {
            T result = render.get();
            if (System.nanoTime() - state.deadline > 0) throw timedOut();
            return result;
        } catch (RuntimeException e) {
            // Once aborted, Jinjava may report the abort as some other failure.
            if (System.nanoTime() - state.deadline > 0) throw timedOut();
            throw e;
        } finally {
            current.remove();
        }
    }

    @Override
    public void accept(Node node, JinjavaInterpreter interpreter) {
        State state = current.get();
        if (state == null) return;
        if (System.nanoTime() - state.deadline > 0) throw timedOut();
        List<TemplateError> errors = interpreter.getErrors();
        for (; state.checkedErrors < errors.size(); state.checkedErrors++) {
            ChatTemplateException failure = failures.of(errors.get(state.checkedErrors));
            if (failure != null) throw failure;
        }
    }

    private ChatTemplateException timedOut() {
        return new ChatTemplateException("rendering took longer than " + limit.toMillis() + " ms");
    }
}
