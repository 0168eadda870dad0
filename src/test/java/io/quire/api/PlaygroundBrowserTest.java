package io.quire.api;

import io.quire.engine.LLMEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.Rectangle;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.TestPropertySource;

import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The playground page at {@code /} in headless Chromium against a real server on stories260K: what
 * a person sees when they open it. Each test leaves a screenshot in target/playground-screenshots.
 * Long generations are made long by slowing each engine step (a KV report listener that sleeps on
 * the engine thread), so that a click or a look lands while they run, whatever the machine's speed.
 */
@Tag("browser")
// Its own context, closed after the class: the slowing listener stays on the engine it was added to.
@TestPropertySource(properties = "spring.application.name=quire-playground-test")
@DirtiesContext(classMode = DirtiesContext.ClassMode.AFTER_CLASS)
class PlaygroundBrowserTest extends Stories260KServerTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Set<LLMEngine> SLOWED = Collections.newSetFromMap(new WeakHashMap<>());
    private static volatile long stepDelayMillis;

    private ChromeDriver browser;

    @BeforeEach
    void startBrowser() {
        synchronized (SLOWED) {
            if (SLOWED.add(engine)) engine.addKvReportListener(r -> sleep(stepDelayMillis));
        }
        browser = PlaygroundBrowser.start(1280, 1000);
    }

    @AfterEach
    void stopBrowser() {
        stepDelayMillis = 0;
        if (browser != null) browser.quit();
    }

    @Test
    void theAutorunUrlStreamsTheReferenceContinuation() throws Exception {
        open("/?mode=completion&prompt=" + encode("Once upon a time") + "&max_tokens=32&temperature=0&autorun=1");
        WebElement output = awaitState("done");
        PlaygroundBrowser.screenshot(browser, "autorun-once-upon-a-time");

        assertThat(output.getText()).isEqualTo(ONCE_UPON_A_TIME_32.strip());
        assertThat(text("#usage")).isEqualTo("5 prompt + 32 completion = 37 tokens");
        assertThat(text("#ttft")).endsWith(" ms");
        assertThat(text("#status")).startsWith("Ready: " + MODEL);
    }

    @Test
    void theStopButtonEndsALongStreamAndTheEngineLetsGoOfIt() throws Exception {
        stepDelayMillis = 20;  // 400 tokens: about 8 s
        open("/?mode=completion&prompt=" + encode("Once upon a time") + "&max_tokens=400&temperature=0&autorun=1");
        new WebDriverWait(browser, WAIT).until(d -> text("#output").length() > 40);
        assertThat(engine.stats().running()).as("running while streaming").isEqualTo(1);

        browser.findElement(By.id("stop-button")).click();
        WebElement output = awaitState("stopped");
        String stopped = output.getText();
        await("the engine's running count back at 0").atMost(10, TimeUnit.SECONDS)
                .until(() -> engine.stats().running() == 0);
        new WebDriverWait(browser, WAIT).until(d -> "0".equals(text("#kv-running")));
        PlaygroundBrowser.screenshot(browser, "stopped-stream");

        assertThat(stopped.length()).as("stopped well before 400 tokens").isLessThan(ONCE_UPON_A_TIME_32.length() * 8);
        assertThat(text("#usage")).as("no usage: the stream never finished").isEqualTo("–");
        assertThat(browser.findElement(By.id("stop-button")).isEnabled()).isFalse();
        assertThat(output.getText()).as("nothing arrives after Stop").isEqualTo(stopped);
    }

    @Test
    void theMapShowsBlocksInUseDuringEightConcurrentGenerationsAndOnlyCachedOnesAfter() throws Exception {
        stepDelayMillis = 15;  // 300 tokens: about 5 s
        // The page runs three samples side by side while eight other clients generate. Its prompt
        // (25 tokens) fills a block, which the three samples share.
        open("/?mode=completion&prompt=" + encode("Once upon a time, there was a little girl named Lily. She loved to"
                + " play outside in the park.") + "&max_tokens=300&temperature=0.8&seed=7&n=3&autorun=1");
        List<CompletableFuture<HttpResponse<String>>> others = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            String body = """
                    {"model": "%s", "prompt": "Once upon a time there was a %s", "max_tokens": 300,
                     "temperature": 0.8, "seed": %d}""".formatted(MODEL, List.of("cat", "dog", "boy", "girl",
                    "king", "bird", "tree", "ship").get(i), i);
            others.add(http.sendAsync(HttpRequest.newBuilder(uri("/v1/completions")).timeout(WAIT)
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        WebElement map = browser.findElement(By.id("kv-map"));
        new WebDriverWait(browser, WAIT).until(d -> count(map, "used") >= 8 && count(map, "shared") >= 1
                && text("#output").length() > 60);
        Map<String, Long> during = counts();  // one snapshot's counts, read at once
        PlaygroundBrowser.screenshot(browser, "kv-map-mid-generation");
        String tip = hover(map, 'u', "in use");
        assertThat(tip).as("the hovered block's details").containsPattern("block \\d+: in use, \\d+ references?")
                .containsPattern("\\d+ / 16 tokens").contains("owners: req-");

        for (var f : others) assertThat(f.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        awaitState("done");
        new WebDriverWait(browser, WAIT).until(d -> count(map, "used") == 0);
        PlaygroundBrowser.screenshot(browser, "kv-map-after");

        Map<String, Long> after = counts();
        assertThat(during.get("used")).as("blocks in use during 9 requests (11 sequences)").isGreaterThanOrEqualTo(11);
        assertThat(during.get("used") + during.get("cached") + during.get("free")).isEqualTo(engine.numTotalBlocks());
        assertThat(after.get("used")).isZero();
        assertThat(after.get("cached")).as("full blocks kept for prefix hits").isPositive();
        assertThat(after.get("cached") + after.get("free")).isEqualTo(engine.numTotalBlocks());
        assertThat(hover(map, 'c', "cached")).contains("cached: free, keeps its prefix hash");
        assertThat(browser.findElements(By.cssSelector("#output .sample"))).hasSize(3)
                .allSatisfy(s -> assertThat(s.getText()).startsWith("sample "));
    }

    @Test
    void anApiErrorIsShownAsAMessage() throws Exception {
        open("/?mode=completion&model=no-such-model&prompt=Hello&autorun=1");
        awaitState("error");
        PlaygroundBrowser.screenshot(browser, "api-error");

        WebElement error = browser.findElement(By.id("error"));
        assertThat(error.isDisplayed()).isTrue();
        assertThat(error.getText()).isEqualTo("404 NotFoundError: The model `no-such-model` does not exist. This server serves `" + MODEL + "`.");
        assertThat(error.getAttribute("role")).isEqualTo("alert");
    }

    @Test
    void usableAt400And1600PixelsWide() throws Exception {
        for (int width : new int[] {400, 1600}) {
            browser.manage().window().setSize(new Dimension(width, 1000));
            open("/?mode=chat&prompt=" + encode("Tell me a story") + "&max_tokens=24&temperature=0&autorun=1");
            awaitState("done");
            PlaygroundBrowser.screenshot(browser, "layout-" + width);
            long scroll = number("return document.documentElement.scrollWidth");
            long inner = number("return document.documentElement.clientWidth");
            assertThat(scroll).as("no sideways scrolling at %d px", width).isLessThanOrEqualTo(inner);
            assertThat(text("#output")).as("chat reply at %d px", width).isNotBlank();
            for (String id : List.of("prompt", "run", "kv-map", "api-key", "max_tokens")) {
                WebElement e = browser.findElement(By.id(id));
                assertThat(e.isDisplayed()).as("#%s shown at %d px", id, width).isTrue();
                assertThat(e.getRect().getX() + e.getRect().getWidth()).as("#%s within %d px", id, width)
                        .isLessThanOrEqualTo((int) inner);
            }
        }
    }

    @Test
    void everyControlIsLabelledFocusFollowsTheFormAndTextHasContrast() throws Exception {
        open("/");
        new WebDriverWait(browser, WAIT).until(d -> text("#status").startsWith("Ready"));
        @SuppressWarnings("unchecked")
        List<String> unlabelled = (List<String>) browser.executeScript("""
                return [...document.querySelectorAll('input, select, textarea, button, canvas')]
                  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim()
                               && !e.closest('label'))
                  .map(e => e.id || e.outerHTML);""");
        assertThat(unlabelled).as("controls without a label").isEmpty();

        List<String> order = new ArrayList<>();
        browser.findElement(By.tagName("body")).click();
        for (int i = 0; i < 13; i++) {
            browser.switchTo().activeElement().sendKeys(Keys.TAB);
            WebElement active = browser.switchTo().activeElement();
            order.add(active.getAttribute("id").isEmpty() ? active.getAttribute("value") : active.getAttribute("id"));
        }
        // The checked mode radio, then the form top to bottom, then the map; Stop is disabled until a run.
        assertThat(order).containsExactly("chat", "model", "prompt", "temperature", "top_p", "top_k", "max_tokens",
                "n", "seed", "stop", "api-key", "run", "kv-map");

        PlaygroundBrowser.screenshot(browser, "focus-order-end");

        @SuppressWarnings("unchecked")
        Map<String, Double> contrast = (Map<String, Double>) browser.executeScript(CONTRAST_SCRIPT);
        assertThat(contrast).isNotEmpty().allSatisfy((what, ratio) ->
                assertThat(ratio).as("contrast of %s", what).isGreaterThanOrEqualTo(4.5));
    }

    /** WCAG contrast of each kind of text against the first opaque background behind it. */
    private static final String CONTRAST_SCRIPT = """
            const rgb = s => s.match(/[\\d.]+/g).map(Number);
            const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126*r + 0.7152*g + 0.0722*b; };
            const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor);
                if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; };
            const out = {};
            for (const sel of ['h1', 'h2', 'label', '.hint', '#status', '#run', '#stop-button', '#output', '.stats dt',
                               '.stats dd', '.legend li', 'legend']) {
              const e = document.querySelector(sel); if (!e) continue;
              const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum(bg(e))];
              out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            }
            return out;""";

    /** Moves the mouse over the first block the map draws as {@code state} (u, c, f) until the tooltip says {@code what}. */
    private String hover(WebElement map, char state, String what) {
        int cell = count(map, "cell"), cols = count(map, "cols");
        WebElement tip = browser.findElement(By.id("kv-tip"));
        Rectangle box = map.getRect();
        for (int tries = 0; tries < 20; tries++) {
            int id = firstBlock(map.getAttribute("data-map"), state);
            int x = (id % cols) * cell + cell / 2 - box.getWidth() / 2;
            int y = (id / cols) * cell + cell / 2 - box.getHeight() / 2;
            new Actions(browser).moveToElement(map, x, y).perform();
            if (tip.isDisplayed() && tip.getText().startsWith("block " + id + ": " + what)) return tip.getText();
        }
        throw new AssertionError("no block shown as " + what + ": " + tip.getText());
    }

    /** The first block id in {@code state} in a run-length encoded map ({@code c2f5u3}). */
    private static int firstBlock(String map, char state) {
        int id = 0;
        for (var m : java.util.regex.Pattern.compile("([a-z])(\\d+)").matcher(map).results().toList()) {
            if (m.group(1).charAt(0) == state) return id;
            id += Integer.parseInt(m.group(2));
        }
        throw new AssertionError("no block in state " + state + " in " + map);
    }

    /** The map's counts of one snapshot (used, cached, free, shared), read in one go. */
    @SuppressWarnings("unchecked")
    private Map<String, Long> counts() {
        return (Map<String, Long>) browser.executeScript("""
                const d = document.getElementById('kv-map').dataset;
                return {used: +d.used, cached: +d.cached, free: +d.free, shared: +d.shared};""");
    }

    private void open(String path) {
        browser.get("http://localhost:" + port + path);
    }

    private WebElement awaitState(String state) {
        WebElement output = browser.findElement(By.id("output"));
        new WebDriverWait(browser, WAIT).until(d -> state.equals(output.getAttribute("data-state")));
        return output;
    }

    private String text(String selector) {
        return browser.findElement(By.cssSelector(selector)).getText();
    }

    private long number(String script) {
        return ((Number) ((JavascriptExecutor) browser).executeScript(script)).longValue();
    }

    private static int count(WebElement map, String state) {
        return Integer.parseInt(map.getAttribute("data-" + state));
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static void sleep(long millis) {
        if (millis <= 0) return;
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
