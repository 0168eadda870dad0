package io.quire.backend;

import java.util.Locale;

/** Where a model runs. */
public enum Device {
    CPU,
    CUDA;

    public String id() { return name().toLowerCase(Locale.ROOT); }
}
