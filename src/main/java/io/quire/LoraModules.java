package io.quire;

import io.quire.model.LanguageModel;
import io.quire.model.LoraAdapter;
import io.quire.model.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** The LoRA adapters of {@code quire.lora-modules} ({@code name=path} each), loaded for the served model. */
final class LoraModules {
    private static final Logger log = LoggerFactory.getLogger(LoraModules.class);

    private LoraModules() {}

    /**
     * Loads each {@code name=path} entry for {@code model}.
     *
     * @throws IllegalArgumentException an entry is not {@code name=path}, names the model or an earlier entry, or
     *                                  its folder is not a LoRA adapter for the model
     */
    static List<LoraAdapter> load(List<String> entries, LanguageModel<?> model) {
        List<LoraAdapter> adapters = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (String entry : entries) {
            if (entry == null || entry.isBlank()) continue;
            int eq = entry.indexOf('=');
            String name = eq < 0 ? "" : entry.substring(0, eq).strip();
            String path = eq < 0 ? "" : entry.substring(eq + 1).strip();
            if (name.isEmpty() || path.isEmpty()) {
                throw new IllegalArgumentException("quire.lora-modules: \"" + entry + "\" is not name=path");
            }
            if (name.equals(model.name()) || !names.add(name)) {
                throw new IllegalArgumentException("quire.lora-modules: the name " + name + " is taken"
                        + (name.equals(model.name()) ? " by the served model" : " by an earlier adapter"));
            }
            LoraAdapter adapter;
            try {
                adapter = LoraAdapter.load(name, Path.of(path), model.config());
            } catch (ModelLoadException e) {
                throw new IllegalArgumentException("quire.lora-modules: " + e.getMessage(), e);
            }
            log.info("LoRA adapter {} from {} (rank {})", name, path, adapter.maxRank());
            adapters.add(adapter);
        }
        return adapters;
    }
}
