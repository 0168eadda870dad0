package io.quire.backend;

/** Where a model runs. */
public enum Device {
    CPU,
    CUDA;

    public String id() { return name().toLowerCase(java.util.Locale.ROOT); }
}
