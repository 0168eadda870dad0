package io.quire.api;

import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Debian's Chromium and chromedriver ({@code apt-get install chromium chromium-driver}), headless,
 * for the playground's browser tests. Both paths are given, so Selenium Manager never looks for or
 * downloads a driver. In CI ({@code CI=true}) a missing browser fails the test ({@code .ci/run}
 * installs it); elsewhere the test is skipped saying what to install.
 */
public final class PlaygroundBrowser {
    static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("QUIRE_CHROMIUM", "/usr/bin/chromium"));
    static final Path CHROMEDRIVER =
            Path.of(System.getenv().getOrDefault("QUIRE_CHROMEDRIVER", "/usr/bin/chromedriver"));
    static final Path SCREENSHOTS = Path.of("target", "playground-screenshots");

    private PlaygroundBrowser() {}

    /** A headless browser window of {@code width} x {@code height} CSS pixels. */
    public static ChromeDriver start(int width, int height) {
        boolean present = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new IllegalStateException("CI=true but " + CHROMIUM + " or " + CHROMEDRIVER
                    + " is missing: .ci/run installs them (apt-get install -y chromium chromium-driver)");
        }
        assumeTrue(present, "skipped: the browser tests need " + CHROMIUM + " and " + CHROMEDRIVER
                + " (apt-get install -y chromium chromium-driver)");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--no-first-run", "--disable-extensions", "--window-size=" + width + "," + height);
        return new ChromeDriver(service, options);
    }

    /** Saves what the browser shows as target/playground-screenshots/{@code name}.png. */
    public static Path screenshot(ChromeDriver driver, String name) throws IOException {
        Files.createDirectories(SCREENSHOTS);
        File shot = driver.getScreenshotAs(OutputType.FILE);
        Path to = SCREENSHOTS.resolve(name + ".png");
        Files.copy(shot.toPath(), to, StandardCopyOption.REPLACE_EXISTING);
        return to;
    }
}
