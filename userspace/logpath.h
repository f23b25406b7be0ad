/* logpath.h: where the log files a pod names in its glimpse.io/logs annotation
 * lie on the host.
 *
 * The annotation lists globs as a container sees them, comma separated:
 * "/var/log/app/access*.log, /data/out/run-?.txt". Each is split into a directory and a
 * pattern for the last component. The directory is then resolved for one
 * container through its volume mounts: an emptyDir or hostPath volume has a
 * known place on the host, readable even when no process of the container
 * lives; anything else is read under /proc/<pid>/root of a live one.
 *
 * Pure: no I/O, no globals. Everything from the kubelet is untrusted: the
 * paths built here never leave their volume's directory by their text, but
 * a directory beneath it can still be a symlink the container planted. So
 * open dir[0..dir_base_len) and resolve the rest beneath it (openat2 with
 * RESOLVE_BENEATH, or RESOLVE_IN_ROOT under /proc/<pid>/root), and open the
 * files with O_NOFOLLOW.
 */
#ifndef GLIMPSE_LOGPATH_H
#define GLIMPSE_LOGPATH_H

#include "pods.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define LOGPATH_ANNOTATION  "glimpse.io/logs"
#define LOGPATH_MAX_ENTRIES 16
#define LOGPATH_MAX_ENTRY   1024 /* bytes of one entry, spaces around it trimmed */

struct logpath_glob {
	/* From logpath_parse: the directory in the container ("/" or
	 * "/a/b", no "." or ".." or empty components, no trailing '/'), and
	 * the pattern of its last component. An entry ending in '/' names
	 * every file in that directory: pattern "*". */
	char container_dir[PATH_MAX];
	char pattern[NAME_MAX + 1];
	/* From logpath_resolve: the directory to list, on the host, or in the
	 * container's root when via_proc_root. dir + dir_base_len is "" or
	 * starts with '/': the part the pod's volume, not the host, controls,
	 * to be resolved beneath dir[0..dir_base_len) ("/" when 0). */
	char dir[PATH_MAX];
	size_t dir_base_len;
	bool via_proc_root;
};

/* Parses an annotation value into at most max entries of out (out may be NULL
 * to only check it). Spaces, tabs and line ends around each entry are
 * trimmed; a blank annotation has no entries. Each entry must be absolute, at
 * most LOGPATH_MAX_ENTRY bytes, without control characters, "." or ".."
 * components or empty ones other than a trailing one, and with wildcards
 * (* ? [) only in its last component. Returns the number of entries, or
 * -EINVAL with *err (may be NULL) set to a static English reason when any
 * entry is bad or there are more than max or LOGPATH_MAX_ENTRIES; out is
 * then partly written. */
int logpath_parse(const char *annotation, struct logpath_glob *out, size_t max, const char **err);

/* Resolves one parsed entry for container pc of pod (either may be NULL: no
 * mounts, no volumes), setting dir, dir_base_len and via_proc_root. The mount
 * is the one with the most components whose mountPath is a component-wise
 * prefix of container_dir (/data is not one of /database; a later mount of
 * the same path wins, as it shadows the earlier):
 *   emptyDir  -> <kubelet_root>/pods/<pod uid>/volumes/kubernetes.io~empty-dir/
 *                <volume>[/<subPath>]/<rest of container_dir>
 *   hostPath  -> <hostPath.path>[/<subPath>]/<rest of container_dir>
 *   no mount, a volume of another kind, no such volume, or a subPathExpr
 *             -> via_proc_root, dir = container_dir.
 * kubelet_root is only read for an emptyDir. Returns 0, -ENAMETOOLONG when the
 * path would not fit in PATH_MAX, or -EINVAL for an entry that is not as
 * logpath_parse makes them, a subPath that is absolute or holds "..", a
 * hostPath or kubelet_root that is not absolute or holds "..", or a volume
 * name or pod uid that is not a single path component; dir is "" on error. */
int logpath_resolve(struct logpath_glob *g, const struct pod *pod, const struct pod_container *pc,
		    const char *kubelet_root);

/* Whether a file name (one component, no '/') matches the entry's pattern:
 * fnmatch(3) with FNM_PERIOD, so a leading '.' only matches a literal one. */
bool logpath_match(const struct logpath_glob *g, const char *name);

#endif
