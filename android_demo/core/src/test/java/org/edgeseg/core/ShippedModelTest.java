package org.edgeseg.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

/**
 * The app's bundled model, when one has been exported into app/src/main/assets: its metadata
 * parses, the core accepts its preprocessing, and model_* goldens were made from this file.
 * Skipped (with the reason) until {@code model_int8.tflite} exists.
 */
class ShippedModelTest {
    private static Path modelPath() {
        String override = System.getProperty("edgeseg.model");
        if (override != null) {
            return Paths.get(override);
        }
        return Paths.get(System.getProperty("user.dir"), "..", "app", "src", "main", "assets",
                "model_int8.tflite").normalize();
    }

    @Test
    void bundledModelMetadataIsUsable() throws IOException {
        Path path = modelPath();
        assumeTrue(Files.isRegularFile(path), "no " + path + " yet: export the int8 model first");
        ModelMetadata md = ModelMetadata.fromModel(ByteBuffer.wrap(Files.readAllBytes(path)));
        new Preprocessor(md.preprocessing()); // throws if the core cannot run it
        for (String name : Golden.cases("model")) {
            Golden.Case c = Golden.load(name);
            assertEquals(c.metadataText(), md.json(), name + " was generated from another model: "
                    + "rerun make_golden.py --model " + path);
        }
    }
}
