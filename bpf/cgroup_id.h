/* cgroup_id.h: the current task's cgroup id in the hierarchy the agent
 * tracks, for the BPF programs (included after vmlinux.h and libbpf's
 * headers). */
#ifndef GLIMPSE_BPF_CGROUP_ID_H
#define GLIMPSE_BPF_CGROUP_ID_H

/* cgroup v2's id, or with v1_memory the id of the task's cgroup in the v1
 * memory controller's hierarchy (on hybrid systems the kubelet's). */
static __always_inline __u64 current_cgroup_id(int v1_memory)
{
	if (v1_memory) {
		struct task_struct *task = (void *)bpf_get_current_task();
		int idx = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct css_set *cset = BPF_CORE_READ(task, cgroups);
		struct cgroup_subsys_state *css;

		if (idx < 0 || idx >= CGROUP_SUBSYS_COUNT)
			return 0;
		bpf_core_read(&css, sizeof(css), &cset->subsys[idx]);
		return BPF_CORE_READ(css, cgroup, kn, id);
	}
	return bpf_get_current_cgroup_id();
}

#endif
