package io.quire.model.hub;

import java.util.regex.Pattern;

/**
 * A Hugging Face model repository, {@code Org/Name}, at a revision (a branch, tag or commit;
 * {@code main} by default), written {@code Org/Name@revision}. Names are checked against the Hub's
 * rules, so one never walks out of the cache folder it names.
 */
public record HubModelId(String repo, String revision) {
    private static final Pattern PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,199}");

    public HubModelId {
        String[] parts = repo.split("/", -1);
        if (parts.length != 2 || !PART.matcher(parts[0]).matches() || !PART.matcher(parts[1]).matches()
                || repo.contains("..")) {
            throw new IllegalArgumentException("'" + repo + "' is not a Hugging Face model id (Org/Name)");
        }
        if (!REVISION.matcher(revision).matches() || revision.contains("..")) {
            throw new IllegalArgumentException("'" + revision + "' is not a revision (a branch, tag or commit)");
        }
    }

    /** {@code Org/Name} or {@code Org/Name@revision}; null when {@code spec} is not of that shape. */
    public static HubModelId parse(String spec) {
        if (spec == null) return null;
        int at = spec.indexOf('@');
        String repo = at < 0 ? spec : spec.substring(0, at);
        String revision = at < 0 ? "main" : spec.substring(at + 1);
        try {
            return new HubModelId(repo, revision);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The cache folder's name, as huggingface_hub writes it: {@code models--Org--Name}. */
    public String folderName() {
        return "models--" + repo.replace("/", "--");
    }

    public boolean revisionIsCommit() {
        return revision.matches("[0-9a-f]{40}");
    }

    @Override
    public String toString() {
        return "main".equals(revision) ? repo : repo + "@" + revision;
    }
}
