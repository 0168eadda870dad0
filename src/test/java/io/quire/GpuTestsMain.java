package io.quire;

import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/**
 * Runs the CUDA JUnit tests without Maven, for cuda/check.sh on the GPU machine (which has no
 * Maven): every test must pass, and a skip counts as a failure there, since a skip means the tests
 * did not find the GPU they were brought to. Prints one line per test and exits 1 on any failure.
 */
public final class GpuTestsMain {
    private GpuTestsMain() {}

    static final String[] CLASSES = {
            "io.quire.backend.cuda.CudaKernelsTest",
            "io.quire.cli.check.KernelCheckTest",
            "io.quire.model.CudaLlamaModelTest",
    };

    public static void main(String[] args) throws Exception {
        LauncherDiscoveryRequestBuilder request = LauncherDiscoveryRequestBuilder.request();
        for (String c : CLASSES) request.selectors(selectClass(Class.forName(c)));
        LauncherDiscoveryRequest discovery = request.build();
        AtomicInteger passed = new AtomicInteger(), failed = new AtomicInteger();
        TestExecutionListener listener = new TestExecutionListener() {
            @Override
            public void executionSkipped(TestIdentifier id, String reason) {
                if (!id.isTest()) return;
                failed.incrementAndGet();
                System.out.println("SKIPPED (counts as failed here) " + id.getDisplayName() + ": " + reason);
            }

            @Override
            public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) return;
                boolean ok = result.getStatus() == TestExecutionResult.Status.SUCCESSFUL;
                (ok ? passed : failed).incrementAndGet();
                System.out.println((ok ? "PASS " : result.getStatus() + " ") + id.getDisplayName()
                        + result.getThrowable().map(t -> ": " + t).orElse(""));
            }
        };
        Launcher launcher = LauncherFactory.create();
        launcher.execute(discovery, listener);
        System.out.printf("CUDA JUnit tests: %d passed, %d failed or skipped%n", passed.get(), failed.get());
        System.exit(failed.get() == 0 && passed.get() > 0 ? 0 : 1);
    }
}
