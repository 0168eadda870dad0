package io.quire.api;

import com.fasterxml.jackson.annotation.JsonSetter;
import com.fasterxml.jackson.annotation.Nulls;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.cfg.MutableCoercionConfig;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.type.LogicalType;

/**
 * The mapper request records are bound with: Boot's mapper made strict, so that a value of the
 * wrong JSON type is a 400 instead of a guess. Strings never become numbers or booleans, numbers
 * and booleans never become strings, numbers never become booleans, a scalar never becomes an
 * array, a decimal with a fraction never becomes an integer, and no array or map may hold null.
 * An integer for a float field stays accepted ({@code temperature: 1}), as OpenAI accepts it.
 * Only request binding uses it: responses, Actuator and the codecs keep Boot's mapper.
 */
final class StrictJsonMapper {
    private StrictJsonMapper() {}

    static JsonMapper from(JsonMapper base) {
        return base.rebuild()
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT,
                        DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY,
                        DeserializationFeature.UNWRAP_SINGLE_VALUE_ARRAYS,
                        DeserializationFeature.ACCEPT_EMPTY_STRING_AS_NULL_OBJECT,
                        DeserializationFeature.ACCEPT_EMPTY_ARRAY_AS_NULL_OBJECT)
                .withCoercionConfigDefaults(c -> fail(c.setAcceptBlankAsEmpty(false),
                        CoercionInputShape.EmptyString, CoercionInputShape.EmptyArray, CoercionInputShape.EmptyObject))
                .withCoercionConfig(LogicalType.Integer, c -> fail(c,
                        CoercionInputShape.String, CoercionInputShape.Boolean, CoercionInputShape.Float))
                .withCoercionConfig(LogicalType.Float, c -> fail(c,
                        CoercionInputShape.String, CoercionInputShape.Boolean))
                .withCoercionConfig(LogicalType.Boolean, c -> fail(c,
                        CoercionInputShape.String, CoercionInputShape.Integer, CoercionInputShape.Float))
                .withCoercionConfig(LogicalType.Textual, c -> fail(c,
                        CoercionInputShape.Integer, CoercionInputShape.Float, CoercionInputShape.Boolean))
                // A null inside a list or map (stop_token_ids: [null]) is refused where it is read, with its path.
                .changeDefaultNullHandling(n -> JsonSetter.Value.forContentNulls(Nulls.FAIL))
                .addModule(new SimpleModule("quire-whole-numbers")
                        .addDeserializer(Integer.class, WholeNumberDeserializer.INTEGER)
                        .addDeserializer(Long.class, WholeNumberDeserializer.LONG))
                .build();
    }

    private static MutableCoercionConfig fail(MutableCoercionConfig config, CoercionInputShape... shapes) {
        for (CoercionInputShape s : shapes) config.setCoercion(s, CoercionAction.Fail);
        return config;
    }
}
