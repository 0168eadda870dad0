package io.quire;

import io.quire.api.PlaygroundBrowser;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The playground opened while the model loads: it shows the percentage from {@code /health}, and
 * once the server is up on the same port it switches to ready by itself and runs its autorun
 * request. The loading phase is the real {@link LoadingServer} held at 42 % (stories260K reads in
 * milliseconds, too fast to look at); then the real application starts on that port, through its
 * own loading server and the hand-over to the web server.
 */
@Tag("browser")
@Tag("slow")  // starts a second application context of its own
class PlaygroundLoadingBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(120);

    @Test
    void thePageShowsTheLoadingPercentageThenSwitchesToReadyByItself() throws Exception {
        Path model = SharedFiles.stories260K();
        ChromeDriver browser = PlaygroundBrowser.start(1280, 900);
        ConfigurableApplicationContext app = null;
        try {
            int port;
            try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                port = probe.getLocalPort();
            }
            ModelLoadProgress progress = new ModelLoadProgress("stories260K");
            LoadingServer loading = new LoadingServer(progress);
            assertThat(loading.open(InetAddress.getLoopbackAddress(), port)).isTrue();
            progress.read(42, 100);

            browser.get("http://localhost:" + port + "/?mode=completion&prompt="
                    + URLEncoder.encode("Once upon a time", StandardCharsets.UTF_8)
                    + "&max_tokens=32&temperature=0&autorun=1");
            new WebDriverWait(browser, WAIT).until(d -> text(browser, "#status").equals("Loading the model: 42 %"));
            assertThat(browser.findElement(By.id("load-progress")).getAttribute("value")).isEqualTo("42");
            assertThat(browser.findElement(By.id("output")).getAttribute("data-state")).isEqualTo("idle");
            PlaygroundBrowser.screenshot(browser, "loading-42-percent");

            loading.close();
            int p = port;
            app = CompletableFuture.supplyAsync(() -> new SpringApplicationBuilder(QuireApplication.class).run(
                    "--server.port=" + p, "--server.address=127.0.0.1", "--quire.model=" + model,
                    "--quire.kv-cache-memory=16MB")).get();

            new WebDriverWait(browser, WAIT).until(d -> "done".equals(
                    browser.findElement(By.id("output")).getAttribute("data-state")));
            PlaygroundBrowser.screenshot(browser, "loading-then-ready");
            assertThat(text(browser, "#status")).isEqualTo("Ready: stories260K");
            assertThat(browser.findElement(By.id("load-progress")).isDisplayed()).isFalse();
            assertThat(text(browser, "#output"))
                    .isEqualTo(", there was a little girl named Lily. She loved to play outside in the park. One day,"
                            + " she saw");
        } finally {
            browser.quit();
            if (app != null) app.close();
        }
    }

    private static String text(ChromeDriver browser, String selector) {
        return browser.findElement(By.cssSelector(selector)).getText();
    }
}
