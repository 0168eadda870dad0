package io.quire;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.quire.engine.GenerationService;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.Dependency.Predicates.dependencyTarget;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.implement;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.conditions.ArchConditions.onlyHaveDependenciesWhere;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The direction of the packages: api → engine → {kv, model} → backend. {@code cli} and the
 * top-level {@code io.quire} (the Spring configuration) wire everything together and may use
 * every layer. Only the production classes are checked.
 */
@AnalyzeClasses(packages = "io.quire", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    /** What speaks HTTP. Nothing below the API may: the engine must be usable from the CLI and benchmarks. */
    private static final String[] HTTP = {
            "org.springframework.web..", "org.springframework.http..", "reactor.netty..", "io.netty.."};

    /*
     * The one allowed engine -> backend dependency: the ModelRunner (nano-vllm's) owns the model's
     * physical KV cache through the device-neutral interface, to copy and swap the blocks the
     * scheduler moves. One exact origin -> target pair, so any other engine -> backend use fails.
     */
    private static final String[] RUNNER_TO_KV_CACHE = {"io.quire.engine.ModelRunner", "io.quire.backend.KvCache"};

    @ArchTest
    static final ArchRule layers = layeredArchitecture()
            .consideringOnlyDependenciesInLayers()
            .layer("Config").definedBy("io.quire")
            .layer("Cli").definedBy("io.quire.cli..")
            .layer("Api").definedBy("io.quire.api..")
            .layer("Engine").definedBy("io.quire.engine..")
            .layer("Kv").definedBy("io.quire.kv..")
            .layer("Model").definedBy("io.quire.model..")
            .layer("Backend").definedBy("io.quire.backend..")
            .whereLayer("Cli").mayOnlyBeAccessedByLayers("Config")
            .whereLayer("Api").mayOnlyBeAccessedByLayers("Config")
            .whereLayer("Engine").mayOnlyBeAccessedByLayers("Api", "Cli", "Config")
            // The API reads KV reports and tokenizes: it may see kv and model types.
            .whereLayer("Kv").mayOnlyBeAccessedByLayers("Engine", "Api", "Cli", "Config")
            .whereLayer("Model").mayOnlyBeAccessedByLayers("Engine", "Api", "Cli", "Config")
            // The engine reaches the device only through the model: it schedules, the model computes.
            .whereLayer("Backend").mayOnlyBeAccessedByLayers("Kv", "Model", "Cli", "Config")
            .ignoreDependency(RUNNER_TO_KV_CACHE[0], RUNNER_TO_KV_CACHE[1]);

    @ArchTest
    static final ArchRule engineIsFreeOfApiHttpAndCpuBackend = classes()
            .that().resideInAPackage("io.quire.engine..")
            .should(onlyHaveDependenciesWhere(not(dependencyTarget(
                    resideInAnyPackage("io.quire.api..", "io.quire.backend.cpu..").or(resideInAnyPackage(HTTP))))))
            .as("engine classes should not depend on the API, HTTP or the CPU backend")
            .because("the engine schedules requests for any front end on any device");

    @ArchTest
    static final ArchRule lowerLayersSpeakNoHttp = noClasses()
            .that().resideInAnyPackage("io.quire.kv..", "io.quire.model..", "io.quire.backend..")
            .should().dependOnClassesThat().resideInAnyPackage(HTTP);

    @ArchTest
    static final ArchRule apiUsesTheEngineThroughItsInterface = noClasses()
            .that().resideInAPackage("io.quire.api..")
            .should().dependOnClassesThat(implement(GenerationService.class))
            .because("handlers see the engine as a GenerationService (or a read-only view), not as the engine");

    @ArchTest
    static final ArchRule noPackageCycles = slices().matching("io.quire.(*)..").should().beFreeOfCycles();

    /** The rules above are only as good as the import: it must have read our (Java 25) class files. */
    @ArchTest
    static void importReadTheProductionClasses(JavaClasses classes) {
        assertThat(classes.contain("io.quire.engine.LLMEngine")).isTrue();
        assertThat(classes.contain("io.quire.api.ApiRoutes")).isTrue();
        assertThat(classes.contain("io.quire.ArchitectureTest")).as("tests are not production code").isFalse();
    }
}
