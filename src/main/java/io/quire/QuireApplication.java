package io.quire;

import io.quire.backend.cpu.C2Directives;
import io.quire.cli.Cli;
import io.quire.cli.VectorModule;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.security.autoconfigure.ReactiveUserDetailsServiceAutoConfiguration;

/**
 * One jar, two faces: {@code java -jar quire.jar generate|tokenize|bench ...} runs a command-line
 * tool without starting Spring, {@code --help} prints the usage; anything else starts the HTTP server.
 */
// No user store: API keys are the only credentials (api.security), and without this exclusion Boot
// would create an in-memory user and print its generated password at startup.
@SpringBootApplication(exclude = ReactiveUserDetailsServiceAutoConfiguration.class)
public class QuireApplication {

    public static void main(String[] args) {
        if (Cli.handles(args)) {
            // Before any logger exists: the tools keep stdout for their result.
            System.setProperty("logback.configurationFile", "cli-logback.xml");
            C2Directives.install(); // before C2 compiles any kernel
            System.exit(Cli.run(args));
        }
        String missing = VectorModule.missing();
        if (missing != null) {
            System.err.println(missing);
            System.exit(1);
        }
        C2Directives.install();
        SpringApplication app = new SpringApplication(QuireApplication.class);
        app.addInitializers(new HeapFootprint()); // the server's process only, not the tests' contexts
        app.run(args);
    }
}
