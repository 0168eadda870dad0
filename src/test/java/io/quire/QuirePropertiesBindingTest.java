package io.quire;

import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import org.springframework.core.env.SystemEnvironmentPropertySource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** How {@code quire.api-key} and {@code quire.cors.*} bind from each source an operator may use. */
class QuirePropertiesBindingTest {

    private static QuireProperties bind(Map<String, String> properties) {
        return new Binder(new MapConfigurationPropertySource(properties)).bindOrCreate("quire", QuireProperties.class);
    }

    @Test
    void defaultsAreOpen() {
        QuireProperties p = bind(Map.of());
        assertThat(p.apiKey()).isEmpty();
        assertThat(p.cors().allowedOrigins()).isEmpty();
        assertThat(p.cors().allowedHeaders()).containsExactly("Authorization", "Content-Type");
    }

    @Test
    void keysAsACommaSeparatedListOrAsAYamlList() {
        assertThat(bind(Map.of("quire.api-key", "sk-one")).apiKey()).containsExactly("sk-one");
        assertThat(bind(Map.of("quire.api-key", "sk-one, sk-two")).apiKey()).containsExactly("sk-one", "sk-two");
        assertThat(bind(Map.of("quire.api-key[0]", "sk-one", "quire.api-key[1]", "sk-two")).apiKey())
                .containsExactly("sk-one", "sk-two");
        assertThat(bind(Map.of("quire.cors.allowed-origins", "https://a.example,https://b.example")).cors()
                .allowedOrigins())
                .containsExactly("https://a.example", "https://b.example");
    }

    /** Environment variables as Boot maps them (QUIRE_CORS_ALLOWED_ORIGINS is accepted as well). */
    @Test
    void keysFromTheEnvironment() {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().replace(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME,
                new SystemEnvironmentPropertySource(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME, Map.of(
                "QUIRE_API_KEY", "sk-one,sk-two", "QUIRE_CORS_ALLOWEDORIGINS", "https://app.example")));
        env.getPropertySources().addLast(new MapPropertySource("yaml", Map.of("quire.api-key", "")));
        QuireProperties p = new Binder(ConfigurationPropertySources.get(env))
                .bindOrCreate("quire", QuireProperties.class);
        assertThat(p.apiKey()).containsExactly("sk-one", "sk-two");
        assertThat(p.cors().allowedOrigins()).containsExactly("https://app.example");
    }
}
