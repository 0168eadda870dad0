package io.quire;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.management.ObjectName;

/**
 * Lets the server's Java heap follow its live data instead of keeping its peak. HotSpot's defaults
 * suit a JVM that owns its machine: G1 keeps up to 70% of its heap free ({@code MaxHeapFreeRatio})
 * and may grow to a quarter of the RAM, so the garbage of Spring's startup, of the kernels' first
 * requests (the Vector API allocates until C2 has compiled them) or of a burst of requests stays
 * resident for good: stories260K's server, 60 MB of live heap with its KV cache (then on the heap),
 * kept 230 to 420 MB of heap. Before the context starts, for the server only (the tools and the tests keep the JVM's
 * defaults), this sets the manageable flags the command line left alone:
 * <ul>
 * <li>{@code MinHeapFreeRatio=10}, {@code MaxHeapFreeRatio=30}: after a concurrent cycle or a full
 *     GC, G1 gives back the heap above 30% free;</li>
 * <li>{@code G1PeriodicGCInterval=10000} (G1 only): after 10 s without a collection a concurrent
 *     cycle runs, so what a burst left free goes back to the OS once the server is quiet.</li>
 * </ul>
 * Speed is kept: G1 still grows the heap when collections take more than its time goal, the
 * periodic cycle runs only after 10 s without any collection, and the KV cache is not on the heap.
 * Once the application is ready it collects once, so startup's and the warm-up's garbage goes back
 * at once. A flag given on the command line ({@code -XX:MaxHeapFreeRatio=70})
 * is left as it is. (The heap's maximum, which would bound it hard, cannot be set from inside.)
 */
final class HeapFootprint implements ApplicationContextInitializer<ConfigurableApplicationContext> {
    private static final Logger log = LoggerFactory.getLogger(HeapFootprint.class);

    /** In this order: MaxHeapFreeRatio may not go below MinHeapFreeRatio. */
    static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("MinHeapFreeRatio", "10");
        m.put("MaxHeapFreeRatio", "30");
        m.put("G1PeriodicGCInterval", "10000");
        return m;
    }

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        List<String> set = apply(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class));
        if (!set.isEmpty()) {
            log.info("Java heap follows the live data: {} (-XX:NAME=VALUE on the command line keeps yours)",
                    String.join(", ", set));
            // Startup and the warm-up leave garbage (Spring's, the uncompiled kernels' boxed vectors): one
            // collection once ready gives it back at once, not after the first periodic cycle; then the C
            // heap the JIT compilers freed by then goes back too (jcmd System.trim_native_heap).
            context.addApplicationListener((ApplicationListener<ApplicationReadyEvent>) ready -> {
                System.gc();
                trimNativeHeap();
            });
        }
    }

    /** Returns the C heap's free memory to the OS (glibc only; elsewhere the command says so and does nothing). */
    static void trimNativeHeap() {
        try {
            Object result = ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "systemTrimNativeHeap",
                    new Object[] {null}, new String[] {String[].class.getName()});
            log.info("Collected once ready; {}", String.valueOf(result).strip());
        } catch (Exception e) {  // a JVM without the command: nothing to give back
            log.debug("Could not trim the native heap: {}", e.toString());
        }
    }

    /** Sets each of {@link #DEFAULTS} that is still at the JVM's default; returns those it set, as NAME=VALUE. */
    static List<String> apply(HotSpotDiagnosticMXBean vm) {
        boolean g1 = "true".equals(vm.getVMOption("UseG1GC").getValue());
        List<String> set = new ArrayList<>();
        for (Map.Entry<String, String> e : DEFAULTS.entrySet()) {
            String name = e.getKey();
            if (name.startsWith("G1") && !g1) continue;
            VMOption option = vm.getVMOption(name);
            if (option.getOrigin() != VMOption.Origin.DEFAULT || !option.isWriteable()) continue;
            try {
                vm.setVMOption(name, e.getValue());
                set.add(name + "=" + e.getValue());
            } catch (IllegalArgumentException ex) {
                // Out of range against a flag the user set (MaxHeapFreeRatio below their MinHeapFreeRatio):
                // theirs wins.
                log.debug("Left {} at {}: {}", name, option.getValue(), ex.getMessage());
            }
        }
        return set;
    }
}
