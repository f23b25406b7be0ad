/* syscalls.h: the syscall numbers bpf/http.bpf.c watches and how to read a
 * syscall's number and arguments from the task's saved user registers (the
 * ones sys_exit is given, or bpf_task_pt_regs() during the syscall)
 * (included after vmlinux.h and libbpf's headers).
 *
 * Until the syscall returns the saved registers still hold the arguments:
 * the kernel reads them, it does not overwrite them (arm64 keeps the first argument in
 * orig_x0, its x0 being the return value; libbpf's *_SYSCALL accessors know
 * which register holds what). */
#ifndef GLIMPSE_BPF_SYSCALLS_H
#define GLIMPSE_BPF_SYSCALLS_H

#if defined(__TARGET_ARCH_x86)
/* arch/x86/entry/syscalls/syscall_64.tbl */
#define NR_READ	    0
#define NR_WRITE    1
#define NR_READV    19
#define NR_WRITEV   20
#define NR_SENDFILE 40
#define NR_SENDTO   44
#define NR_RECVFROM 45
#define NR_SENDMSG  46
#define NR_RECVMSG  47

#define TS_COMPAT 0x0002 /* thread_info.status: in a 32-bit (ia32) syscall */

static __always_inline long syscall_nr(const struct pt_regs *regs)
{
	return regs->orig_ax;
}

/* Whether the syscall is a 64-bit one: ia32 syscalls have their own
 * numbers (x32 ones carry __X32_SYSCALL_BIT and match none of the above). */
static __always_inline bool native_syscall(const struct task_struct *task,
					   const struct pt_regs *regs)
{
	(void)regs;
	return !(task->thread_info.status & TS_COMPAT);
}
#elif defined(__TARGET_ARCH_arm64)
/* include/uapi/asm-generic/unistd.h */
#define NR_READ	    63
#define NR_WRITE    64
#define NR_READV    65
#define NR_WRITEV   66
#define NR_SENDFILE 71
#define NR_SENDTO   206
#define NR_RECVFROM 207
#define NR_SENDMSG  211
#define NR_RECVMSG  212

#define PSR_MODE32_BIT 0x10 /* pstate: an AArch32 task */

static __always_inline long syscall_nr(const struct pt_regs *regs)
{
	return regs->syscallno;
}

static __always_inline bool native_syscall(const struct task_struct *task,
					   const struct pt_regs *regs)
{
	(void)task;
	return !(regs->pstate & PSR_MODE32_BIT);
}
#else
#error "bpf/syscalls.h: syscall numbers for this architecture are missing"
#endif

#endif
