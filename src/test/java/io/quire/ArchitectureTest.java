package io.quire;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.quire.engine.GenerationService;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.Dependency.Predicates.dependency;
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
     * Known violations, being removed by the engine/model reshaping of issue 9 (wt-engine, wt-model).
     * Each names one exact origin → target dependency, so any other one still fails the rules.
     * Delete a line once its dependency is gone.
     */
    // EngineConfig.kvBytesFor sizes KV blocks with the CPU cache's layout.
    private static final String[] ENGINE_CONFIG_TO_CPU_CACHE = {
            "io.quire.engine.EngineConfig", "io.quire.backend.cpu.PagedKvCache"};
    // LLMEngine holds the model's physical KV cache to copy and swap blocks.
    private static final String[] ENGINE_TO_KV_CACHE = {"io.quire.engine.LLMEngine", "io.quire.backend.KvCache"};

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
            .ignoreDependency(ENGINE_CONFIG_TO_CPU_CACHE[0], ENGINE_CONFIG_TO_CPU_CACHE[1])
            .ignoreDependency(ENGINE_TO_KV_CACHE[0], ENGINE_TO_KV_CACHE[1]);

    @ArchTest
    static final ArchRule engineIsFreeOfApiHttpAndCpuBackend = classes()
            .that().resideInAPackage("io.quire.engine..")
            .should(onlyHaveDependenciesWhere(not(dependencyTarget(
                    resideInAnyPackage("io.quire.api..", "io.quire.backend.cpu..").or(resideInAnyPackage(HTTP))))
                    .or(dependency(ENGINE_CONFIG_TO_CPU_CACHE[0], ENGINE_CONFIG_TO_CPU_CACHE[1]))))
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
