package io.quire;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.config.YamlPropertiesFactoryBean;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.core.io.ClassPathResource;

import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The defaults have one home, {@link QuireProperties} (the engine's as EngineConfig constants):
 * the values {@code application.yml} shows a reader must be exactly what binding gives without it.
 */
class QuirePropertiesDefaultsTest {

    @Test
    void applicationYmlShowsTheCodesDefaults() throws Exception {
        QuireProperties defaults = new Binder(new MapConfigurationPropertySource(Map.of()))
                .bindOrCreate("quire", QuireProperties.class);
        YamlPropertiesFactoryBean yaml = new YamlPropertiesFactoryBean();
        yaml.setResources(new ClassPathResource("application.yml"));
        Properties props = yaml.getObject();
        QuireProperties shown = new Binder(new MapConfigurationPropertySource(props))
                .bindOrCreate("quire", QuireProperties.class);
        int compared = 0;
        for (RecordComponent c : QuireProperties.class.getRecordComponents()) {
            Object d = c.getAccessor().invoke(defaults), y = c.getAccessor().invoke(shown);
            // An empty YAML value ("served-model-name:") binds as "" where the code says null: both mean unset.
            if (unset(d) && unset(y)) continue;
            assertThat(y).as("quire.%s in application.yml", c.getName()).isEqualTo(d);
            compared++;
        }
        assertThat(compared).as("settings with a default").isGreaterThan(15);
    }

    private static boolean unset(Object v) {
        return v == null || "".equals(v) || v instanceof Collection<?> c && c.isEmpty();
    }
}
