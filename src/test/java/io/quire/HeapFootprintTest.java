package io.quire;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import org.junit.jupiter.api.Test;

import javax.management.ObjectName;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The server's heap flags: set where the JVM left its defaults, never over the command line's. */
class HeapFootprintTest {

    /** A JVM's flags, as the management bean shows them; setVMOption checks the ratio order as HotSpot does. */
    private static final class FakeVm implements HotSpotDiagnosticMXBean {
        final Map<String, VMOption> options = new HashMap<>();

        FakeVm(boolean g1) {
            put("UseG1GC", String.valueOf(g1), VMOption.Origin.ERGONOMIC);
            put("MinHeapFreeRatio", "40", VMOption.Origin.DEFAULT);
            put("MaxHeapFreeRatio", "70", VMOption.Origin.DEFAULT);
            put("G1PeriodicGCInterval", "0", VMOption.Origin.DEFAULT);
        }

        FakeVm put(String name, String value, VMOption.Origin origin) {
            options.put(name, new VMOption(name, value, !name.startsWith("Use"), origin));
            return this;
        }

        String value(String name) { return options.get(name).getValue(); }

        @Override public VMOption getVMOption(String name) { return options.get(name); }

        @Override
        public void setVMOption(String name, String value) {
            int v = Integer.parseInt(value);
            if (name.equals("MaxHeapFreeRatio") && v < Integer.parseInt(value("MinHeapFreeRatio"))
                    || name.equals("MinHeapFreeRatio") && v > Integer.parseInt(value("MaxHeapFreeRatio"))) {
                throw new IllegalArgumentException(name + " " + value + " out of range");
            }
            put(name, value, VMOption.Origin.MANAGEMENT);
        }

        @Override public List<VMOption> getDiagnosticOptions() { return List.copyOf(options.values()); }
        @Override public void dumpHeap(String outputFile, boolean live) { throw new UnsupportedOperationException(); }
        @Override public ObjectName getObjectName() { return null; }
    }

    @Test
    void theJvmsDefaultsGiveWayToAHeapThatFollowsTheLiveData() {
        FakeVm vm = new FakeVm(true);
        assertThat(HeapFootprint.apply(vm))
                .containsExactly("MinHeapFreeRatio=10", "MaxHeapFreeRatio=30", "G1PeriodicGCInterval=10000");
        assertThat(vm.value("MaxHeapFreeRatio")).isEqualTo("30");
    }

    @Test
    void whatTheCommandLineSetIsKept() {
        FakeVm vm = new FakeVm(true).put("MaxHeapFreeRatio", "50", VMOption.Origin.VM_CREATION)
                .put("G1PeriodicGCInterval", "60000", VMOption.Origin.VM_CREATION);
        assertThat(HeapFootprint.apply(vm)).containsExactly("MinHeapFreeRatio=10");
        assertThat(vm.value("MaxHeapFreeRatio")).isEqualTo("50");
        assertThat(vm.value("G1PeriodicGCInterval")).isEqualTo("60000");
        // A MinHeapFreeRatio above 30 on the command line: 30 would be out of range, and theirs wins.
        FakeVm high = new FakeVm(true).put("MinHeapFreeRatio", "45", VMOption.Origin.VM_CREATION);
        assertThat(HeapFootprint.apply(high)).containsExactly("G1PeriodicGCInterval=10000");
        assertThat(high.value("MaxHeapFreeRatio")).isEqualTo("70");
    }

    @Test
    void anotherCollectorGetsTheRatiosOnly() {
        assertThat(HeapFootprint.apply(new FakeVm(false))).containsExactly("MinHeapFreeRatio=10", "MaxHeapFreeRatio=30");
    }
}
