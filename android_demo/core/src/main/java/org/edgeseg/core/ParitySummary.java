package org.edgeseg.core;

import java.util.List;
import java.util.Map;

/**
 * The verdict of a parity report ({@code edgeseg parity}, schema {@code edgeseg.parity/1}) in a
 * few words for the About screen: PASS / FAIL / INCONCLUSIVE (the verdict's outcome, or passed
 * true/false in older reports), the frame count, the candidate and
 * the dataset credit, read from the report's own fields.
 */
public final class ParitySummary {
    private final String verdict;
    private final int frames;
    private final String candidate;
    private final String credit;
    private final List<String> reasons;

    private ParitySummary(String verdict, int frames, String candidate, String credit,
            List<String> reasons) {
        this.verdict = verdict;
        this.frames = frames;
        this.candidate = candidate;
        this.credit = credit;
        this.reasons = reasons;
    }

    /** Parses a report; throws {@link IllegalArgumentException} when it is not one. */
    public static ParitySummary fromJson(String json) {
        Map<String, Object> report = Json.parseObject(json);
        Object schema = report.get("schema");
        if (!(schema instanceof String) || !((String) schema).startsWith("edgeseg.parity/")) {
            throw new IllegalArgumentException("not an edgeseg parity report (schema "
                    + schema + ")");
        }
        Object verdictObj = report.get("verdict");
        String verdict;
        List<String> reasons = new java.util.ArrayList<>();
        if (verdictObj instanceof Map) {
            Map<?, ?> v = (Map<?, ?>) verdictObj;
            Object label = v.get("outcome"); // newer reports; older ones only say passed
            if (label instanceof String) {
                verdict = (String) label;
            } else {
                verdict = Boolean.TRUE.equals(v.get("passed")) ? "PASS" : "FAIL";
            }
            Object rs = v.get("reasons");
            if (rs instanceof List) {
                for (Object r : (List<?>) rs) {
                    reasons.add(String.valueOf(r));
                }
            }
        } else if (verdictObj instanceof String) {
            verdict = (String) verdictObj;
        } else {
            verdict = Boolean.TRUE.equals(report.get("passed")) ? "PASS" : "FAIL";
        }
        Object frames = report.get("frames");
        return new ParitySummary(verdict, frames instanceof Number ? ((Number) frames).intValue()
                : -1, String.valueOf(report.get("candidate")), String.valueOf(report.get("credit")),
                java.util.Collections.unmodifiableList(reasons));
    }

    /** PASS, FAIL or INCONCLUSIVE (as the report says). */
    public String verdict() {
        return verdict;
    }

    public int frames() {
        return frames;
    }

    public String candidate() {
        return candidate;
    }

    public String credit() {
        return credit;
    }

    public List<String> reasons() {
        return reasons;
    }
}
