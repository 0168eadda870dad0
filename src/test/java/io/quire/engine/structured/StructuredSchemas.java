package io.quire.engine.structured;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.util.List;

/** A dozen JSON Schemas covering the supported keywords, and the networknt validator as the oracle. */
public final class StructuredSchemas {
    public static final List<String> SCHEMAS = List.of(
            """
            {"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":150}},
             "required":["name","age"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"color":{"enum":["red","green","blue"]},"ok":{"type":"boolean"},
             "note":{"type":"string"}},"required":["ok"]}""",
            """
            {"type":"array","items":{"type":"string","minLength":1,"maxLength":5},"minItems":1,"maxItems":3}""",
            """
            {"type":"object","properties":{"user":{"type":"object","properties":{"id":{"type":"integer"},
             "address":{"type":"object","properties":{"city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},
             "required":["city","zip"]}},"required":["id","address"]}},"required":["user"]}""",
            """
            {"type":"object","properties":{"nickname":{"anyOf":[{"type":"string"},{"type":"null"}]},
             "score":{"type":["number","null"]}},"required":["nickname","score"]}""",
            """
            {"$defs":{"item":{"type":"object","properties":{"sku":{"type":"string","format":"uuid"},"qty":{"type":"integer","minimum":1,"maximum":99}},
             "required":["sku","qty"]}},"type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/$defs/item"},"maxItems":4}},
             "required":["items"]}""",
            """
            {"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array",
             "items":{"$ref":"#/$defs/node"}}},"required":["value"]}},"$ref":"#/$defs/node"}""",
            """
            {"type":"object","properties":{"day":{"type":"string","format":"date"},"at":{"type":"string","format":"date-time"},
             "clock":{"type":"string","format":"time"}},"required":["day","at","clock"]}""",
            """
            {"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{2,4}$"},
             "ratio":{"type":"number","minimum":0,"maximum":100},"level":{"type":"integer","exclusiveMinimum":-5,"exclusiveMaximum":5}},
             "required":["code","ratio","level"]}""",
            """
            {"type":"object","properties":{"kind":{"const":"event"},"count":{"type":["integer","null"]},
             "tags":{"type":"object","additionalProperties":{"type":"integer"}}},"required":["kind","count","tags"]}""",
            """
            {"title":"anything","description":"any JSON value"}""",
            """
            {"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"number","minimum":-2.5,"maximum":3.5}},
             "additionalProperties":false}""",
            """
            {"anyOf":[{"type":"object","properties":{"cat":{"type":"string","maxLength":8}},"required":["cat"],"additionalProperties":false},
             {"type":"object","properties":{"dog":{"type":"integer"}},"required":["dog"],"additionalProperties":false}]}""");

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
            b -> b.schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));

    private StructuredSchemas() {}

    /** The validator's complaints about {@code document} (empty: valid); a parse failure throws. */
    public static List<Error> validate(String schema, String document) {
        Schema s = REGISTRY.getSchema(schema);
        JsonNode doc = JSON.readTree(document);
        return s.validate(doc);
    }

    public static JsonNode parse(String json) { return JSON.readTree(json); }
}
