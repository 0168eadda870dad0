package io.quire.backend.cuda;

import io.quire.backend.DeviceSelector;

/** Run by {@link CudaDriverTest} in a fresh JVM: selects {@code quire.device=auto} and prints the choice. */
public final class AutoDeviceMain {
    private AutoDeviceMain() {}

    public static void main(String[] args) {
        System.out.println("selected " + DeviceSelector.select("auto").logLine());
    }
}
