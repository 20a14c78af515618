package org.edgeseg.core;

/** The model file or its edgeseg metadata is missing, malformed or inconsistent with the model. */
public class MetadataException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public MetadataException(String message) {
        super(message);
    }

    public MetadataException(String message, Throwable cause) {
        super(message, cause);
    }
}
