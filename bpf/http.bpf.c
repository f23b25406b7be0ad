// SPDX-License-Identifier: GPL-2.0
/* http.bpf.c: the bytes containers read and write on TCP connections that
 * speak HTTP/1.x, from tracepoints only.
 *
 * Two ways in, one chosen by userspace at load (httpcap.c):
 *
 * - socket (kernels >= 6.3): tp_btf sock/sock_send_length and
 *   sock/sock_recv_length fire once per sendmsg/recvmsg a socket does, with
 *   the socket and the bytes moved; the buffer is the syscall's, read from
 *   the task's saved user registers. Nothing else pays: a syscall that is not
 *   socket I/O runs no program.
 * - syscall (older kernels): tp_btf sys_exit, where every syscall of every
 *   task passes; its first work is a switch on the syscall number, and the
 *   socket is found through task->files. Enabling any syscall tracepoint puts
 *   every syscall of the node on the kernel's slow path: in
 *   tests/bench/http_overhead.py a read or write on a connection known not to
 *   be HTTP costs ~700 ns this way against ~210 ns the socket way.
 *
 * Both then do the same (sock_io): a connection is an entry in http_conns,
 * keyed by the socket's address, made the first time a traced process moves
 * bytes on it: its addresses, whether the bytes are the stream's first (from
 * the TCP sequence counters), and its first bytes sniffed for a request
 * method or "HTTP/1.". Connections found not to be HTTP cost a lookup
 * afterwards. For HTTP connections a record carries the byte count and a
 * bounded prefix of the data; parsing is userspace's. tp_btf
 * sock/inet_sock_set_state tells when the process closed the connection (a
 * close record) and when the socket is gone (the entry goes).
 *
 * Wake-ups: waking the consumer costs more than capturing, so records are
 * submitted without one until wakeup_bytes are pending; userspace also drains
 * the buffer on a short timer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "cgroup_id.h"
#include "http.h"
#include "syscalls.h"

#define AF_INET	     2
#define AF_INET6     10
#define SOCK_STREAM  1
#define IPPROTO_TCP  6
#define S_IFMT	     00170000
#define S_IFSOCK     0140000
#define MSG_PEEK     2
#define PF_IO_WORKER 0x00000010 /* io_uring's workers: their registers are not the I/O's */
#define PF_KTHREAD   0x00200000

#define TCP_FIN_WAIT1 4
#define TCP_CLOSE     7
#define TCP_LAST_ACK  9
#define SHUTDOWN_MASK 3 /* sk_shutdown: both ways, as close(2) leaves it */

#define SNIFF_TRIES 8 /* segments of a connection met mid-stream looked at */

/* Set by userspace before load. */
const volatile int use_v1_memory = 0; /* cgroup ids of the v1 memory controller */
const volatile int trace_host = 0;    /* every cgroup, not only tracked_cgroups */
const volatile __u32 capture_bytes = 1024;
const volatile __u64 wakeup_bytes = 256 * 1024;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} http_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HTTP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} http_stats SEC(".maps");

/* The containers' cgroup ids: userspace gives this program the lifecycle
 * program's map. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} tracked_cgroups SEC(".maps");

/* How a syscall passes its data. */
enum args_buf {
	BUF_NONE,   /* not read: sendfile, splice, a 32-bit syscall, io_uring... */
	BUF_PLAIN,  /* a buffer */
	BUF_IOVEC,  /* an iovec array */
	BUF_MSGHDR, /* a msghdr */
};

enum conn_state { CONN_UNSURE, CONN_HTTP, CONN_NOT_HTTP };

struct conn {
	__u64 id;
	__u64 cgroup_id; /* of the process, when the connection was met */
	__u32 tgid;	 /* the process that met it */
	__u8 state;	 /* enum conn_state */
	__u8 role;	 /* enum http_role, once HTTP */
	__u8 family;
	__u8 tries;  /* segments sniffed while unsure */
	__u8 fresh;  /* met at the stream's first byte */
	__u8 closed; /* a close record was sent */
	__u16 local_port, remote_port;
	__u8 local_addr[16], remote_addr[16];
};

/* Connections of traced processes, by the socket's address; an entry goes
 * when its socket reaches TCP_CLOSE, before the address can be reused. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn);
} http_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conn_ids SEC(".maps");

/* A record being made. The slack lets the verifier see that a copy of at
 * most HTTP_CAPTURE_MAX bytes at an offset below HTTP_CAPTURE_MAX stays in
 * the value; only the record itself is sent. */
struct scratch {
	struct http_rec rec;
	char slack[HTTP_CAPTURE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline void count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&http_stats, &stat);

	if (v)
		*v += 1;
}

static __always_inline __u64 cgroup_id(void)
{
	return current_cgroup_id(use_v1_memory);
}

/* Whether each process is traced (its cgroup is a container's), so the
 * cgroup is looked up once per process, not per syscall. An entry goes when
 * the process execs or exits: a container's process is moved into its cgroup
 * before its exec, and a reused pid starts without one. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u8);
} traced_procs SEC(".maps");

/* In front of traced_procs, each CPU's last answer: a process makes its
 * syscalls in runs on one CPU, and a per-CPU array element costs no hashing.
 * An answer holds while proc_gen has not moved; every exec and exit moves
 * it, after dropping the process's traced_procs entry. */
struct traced_last {
	__u64 gen;
	__u32 tgid;
	__u8 yes;
	__u8 valid;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct traced_last);
} traced_last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} proc_gen SEC(".maps");

static __always_inline bool traced(__u32 tgid)
{
	__u32 zero = 0;
	struct traced_last *last;
	__u64 *gen, cgid;
	__u8 *known, yes;

	if (trace_host)
		return true;
	gen = bpf_map_lookup_elem(&proc_gen, &zero);
	last = bpf_map_lookup_elem(&traced_last, &zero);
	if (!gen || !last)
		return false;
	if (last->valid && last->tgid == tgid && last->gen == *gen)
		return last->yes;
	last->gen = *gen;
	known = bpf_map_lookup_elem(&traced_procs, &tgid);
	if (known) {
		yes = *known;
	} else {
		cgid = cgroup_id();
		yes = bpf_map_lookup_elem(&tracked_cgroups, &cgid) != NULL;
		bpf_map_update_elem(&traced_procs, &tgid, &yes, BPF_ANY);
	}
	last->tgid = tgid;
	last->yes = yes;
	last->valid = 1;
	return yes;
}

static __always_inline int forget_proc(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	__u64 *gen;

	bpf_map_delete_elem(&traced_procs, &tgid);
	gen = bpf_map_lookup_elem(&proc_gen, &zero);
	if (gen)
		__sync_fetch_and_add(gen, 1);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int http_exec(void *ctx)
{
	return forget_proc();
}

SEC("tracepoint/sched/sched_process_exit")
int http_exit(void *ctx)
{
	return forget_proc();
}

/* The socket behind task's fd when it is a TCP one. */
static __always_inline struct sock *tcp_sock_of(struct task_struct *task, __u32 fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file *file = NULL;
	struct socket *sock;
	struct sock *sk;
	__u16 family, type, proto;

	if (fd >= max || bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	type = BPF_CORE_READ(sk, sk_type);
	proto = BPF_CORE_READ(sk, sk_protocol);
	if ((family != AF_INET && family != AF_INET6) || type != SOCK_STREAM ||
	    proto != IPPROTO_TCP)
		return NULL;
	return sk;
}

static __always_inline void read_addresses(struct conn *c, struct sock *sk)
{
	c->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	c->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (c->family == AF_INET) {
		bpf_core_read(c->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(c->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else {
		bpf_core_read(c->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(c->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

enum sniff_result { SNIFF_NO, SNIFF_HTTP, SNIFF_SHORT };

/* Does data (len bytes moved) begin an HTTP/1.x request or response?
 * *request says which. SNIFF_SHORT: too few bytes to tell. */
static __always_inline int sniff(const char *p, __u64 len, bool *request)
{
	char b[8] = {};
	__u32 n = len < sizeof(b) ? len : sizeof(b);

	if (n < 4)
		return SNIFF_SHORT;
	if (bpf_probe_read_user(b, n & 7 ? n & 7 : 8, p) != 0)
		return SNIFF_NO;
	*request = true;
	if (b[0] == 'H' && b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/' &&
	    b[5] == '1' && b[6] == '.') {
		*request = false;
		return SNIFF_HTTP;
	}
	if (b[0] == 'G' && b[1] == 'E' && b[2] == 'T' && b[3] == ' ')
		return SNIFF_HTTP;
	if (b[0] == 'P' && b[1] == 'U' && b[2] == 'T' && b[3] == ' ')
		return SNIFF_HTTP;
	if (b[0] == 'P' && b[1] == 'O' && b[2] == 'S' && b[3] == 'T' && b[4] == ' ')
		return SNIFF_HTTP;
	if (b[0] == 'H' && b[1] == 'E' && b[2] == 'A' && b[3] == 'D' && b[4] == ' ')
		return SNIFF_HTTP;
	if (b[0] == 'P' && b[1] == 'A' && b[2] == 'T' && b[3] == 'C' && b[4] == 'H' && b[5] == ' ')
		return SNIFF_HTTP;
	if (b[0] == 'D' && b[1] == 'E' && b[2] == 'L' && b[3] == 'E' && b[4] == 'T' && b[5] == 'E')
		return SNIFF_HTTP;
	if (b[0] == 'O' && b[1] == 'P' && b[2] == 'T' && b[3] == 'I' && b[4] == 'O' && b[5] == 'N')
		return SNIFF_HTTP;
	if (b[0] == 'C' && b[1] == 'O' && b[2] == 'N' && b[3] == 'N' && b[4] == 'E' && b[5] == 'C')
		return SNIFF_HTTP;
	if (b[0] == 'T' && b[1] == 'R' && b[2] == 'A' && b[3] == 'C' && b[4] == 'E' && b[5] == ' ')
		return SNIFF_HTTP;
	return SNIFF_NO;
}

#define CAPTURE_IOVECS 4 /* buffers of a vectored read or write captured */

/* Where a syscall's data is: the first buffer (len bytes) and, for vectored
 * I/O, the iovec array it heads (iovcnt entries). */
struct data_src {
	const char *buf;
	__u64 len;
	const struct iovec *iov;
	__u64 iovcnt;
};

/* The data of a plain (arg: the buffer), iovec (arg: the array, arg3: its
 * length) or msghdr (arg) argument; false when it cannot be read. */
static __always_inline bool data_src_of(__u64 arg, __u64 arg3, __u8 buf_kind, struct data_src *d)
{
	struct iovec iov = {};

	d->len = ~0ULL;
	d->iov = NULL;
	d->iovcnt = 0;
	if (buf_kind == BUF_PLAIN) {
		d->buf = (const char *)arg;
		return d->buf != NULL;
	}
	d->iov = (const void *)arg;
	d->iovcnt = arg3;
	if (buf_kind == BUF_MSGHDR) {
		struct user_msghdr msg = {};
		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)arg) != 0)
			return false;
		d->iov = msg.msg_iov;
		d->iovcnt = msg.msg_iovlen;
	}
	if (!d->iov || !d->iovcnt || bpf_probe_read_user(&iov, sizeof(iov), d->iov) != 0)
		return false;
	d->buf = iov.iov_base;
	d->len = iov.iov_len;
	return d->buf != NULL;
}

/* Copies the first of total bytes moved (at most capture_bytes) from d into
 * data: the buffers in order, as long as each is taken whole, so what is
 * copied is where the stream was. Returns the bytes copied. */
static __always_inline __u32 capture(char *data, const struct data_src *d, __u64 total)
{
	__u64 left = total,
	      room = capture_bytes < HTTP_CAPTURE_MAX ? capture_bytes : HTTP_CAPTURE_MAX;
	const char *p = d->buf;
	__u64 len = d->len;
	__u32 off = 0;

#pragma unroll
	for (int i = 0; i < CAPTURE_IOVECS; i++) {
		struct iovec iov = {};
		__u64 take;

		if (i > 0) {
			if (!d->iov || i >= d->iovcnt ||
			    bpf_probe_read_user(&iov, sizeof(iov), &d->iov[i]) != 0)
				break;
			p = iov.iov_base;
			len = iov.iov_len;
		}
		take = len < left ? len : left;
		if (take > room - off)
			take = room - off;
		off &= HTTP_CAPTURE_MAX - 1;
		if (take > HTTP_CAPTURE_MAX)
			take = HTTP_CAPTURE_MAX;
		if (take && bpf_probe_read_user(data + off, take, p) != 0) {
			count(HTTP_STAT_READ_FAILED);
			break;
		}
		off += take;
		left -= take;
		if (take < len || !left || off >= room)
			break; /* a buffer not taken whole ends the prefix */
	}
	return off;
}

/* Bytes each CPU has submitted since it last asked how much is pending. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} rb_unasked SEC(".maps");

#define RB_ASK_EVERY (16 * 1024)

/* The consumer is woken once wakeup_bytes are pending; how much is pending
 * is asked every RB_ASK_EVERY bytes a CPU submits, not at every record. */
static __always_inline __u64 rb_flags(__u32 size)
{
	__u32 zero = 0;
	__u64 *unasked = bpf_map_lookup_elem(&rb_unasked, &zero);

	if (unasked) {
		*unasked += size;
		if (*unasked < RB_ASK_EVERY)
			return BPF_RB_NO_WAKEUP;
		*unasked = 0;
	}
	return bpf_ringbuf_query(&http_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

/* Sends a record for connection c: total bytes moved, the first of them
 * (up to capture_bytes) read from buf. */
static __always_inline void emit(const struct conn *c, __u32 tgid, __u32 fd, __u8 type, __u8 dir,
				 __u32 flags, const struct data_src *d, __u64 total)
{
	__u32 zero = 0, n = 0;
	struct scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
	struct http_rec *r;

	if (!sc)
		return;
	r = &sc->rec;
	r->type = type;
	r->dir = dir;
	r->role = c->role;
	r->family = c->family;
	r->flags = flags;
	/* no message starts in bytes not captured: they need no time */
	r->ts_ns = d || type != HTTP_REC_DATA ? bpf_ktime_get_ns() : 0;
	r->cgroup_id = c->cgroup_id;
	r->conn_id = c->id;
	r->tgid = tgid;
	r->fd = fd;
	r->total = total;
	r->local_port = c->local_port;
	r->remote_port = c->remote_port;
	__builtin_memcpy(r->local_addr, c->local_addr, sizeof(r->local_addr));
	__builtin_memcpy(r->remote_addr, c->remote_addr, sizeof(r->remote_addr));
	if (d)
		n = capture(r->data, d, total);
	r->captured = n;
	if (n > HTTP_CAPTURE_MAX)
		return;
	if (bpf_ringbuf_output(&http_events, r, HTTP_REC_HEADER_SIZE + n,
			       rb_flags(HTTP_REC_HEADER_SIZE + n)) != 0) {
		count(HTTP_STAT_DROPPED);
		return;
	}
	count(HTTP_STAT_SENT);
}

static __always_inline __u64 next_conn_id(void)
{
	__u32 zero = 0;
	__u64 *v = bpf_map_lookup_elem(&conn_ids, &zero);

	return v ? __sync_fetch_and_add(v, 1) + 1 : 0;
}

/* Whether the ret bytes just moved on the TCP socket at skp are the first of
 * their direction. The kernel counts what was received (bytes_received, up
 * to rcv_nxt) and acknowledged (bytes_acked, up to snd_una; on connections
 * this end opened it includes the SYN's one), so what the process has read
 * or written so far is these counts less what is still unread or unacked. */
static __always_inline bool at_stream_start(__u64 skp, __u8 dir, long ret)
{
	struct tcp_sock *tp = (void *)skp;
	__u64 done;

	if (dir == HTTP_DIR_IN) {
		done = BPF_CORE_READ(tp, bytes_received) -
		       (__u32)(BPF_CORE_READ(tp, rcv_nxt) - BPF_CORE_READ(tp, copied_seq));
		return done == (__u64)ret;
	}
	done = BPF_CORE_READ(tp, bytes_acked) +
	       (__u32)(BPF_CORE_READ(tp, write_seq) - BPF_CORE_READ(tp, snd_una));
	return done == (__u64)ret || done == (__u64)ret + 1;
}

/* The entry of a connection met now, made from the TCP socket at skp. */
static __always_inline struct conn *conn_new(__u64 skp, __u32 tgid, __u8 dir, long ret)
{
	struct conn n = {};

	n.id = next_conn_id();
	n.cgroup_id = cgroup_id();
	n.tgid = tgid;
	n.state = CONN_UNSURE;
	n.fresh = at_stream_start(skp, dir, ret);
	read_addresses(&n, (struct sock *)skp);
	bpf_map_update_elem(&http_conns, &skp, &n, BPF_ANY);
	count(HTTP_STAT_CONNS);
	return bpf_map_lookup_elem(&http_conns, &skp);
}

/* How syscall nr passes its data (BUF_NONE: not read, only counted). */
static __always_inline __u8 buf_kind(const struct task_struct *task, const struct pt_regs *regs,
				     long nr)
{
	switch (nr) {
	case NR_READ:
	case NR_RECVFROM:
	case NR_WRITE:
	case NR_SENDTO:
		return native_syscall(task, regs) ? BUF_PLAIN : BUF_NONE;
	case NR_READV:
	case NR_WRITEV:
		return native_syscall(task, regs) ? BUF_IOVEC : BUF_NONE;
	case NR_RECVMSG:
	case NR_SENDMSG:
		return native_syscall(task, regs) ? BUF_MSGHDR : BUF_NONE;
	}
	return BUF_NONE;
}

/* The entry of the TCP socket at skp (its ports: lport, rport), or NULL
 * when there is none yet; *skip when it is known not to speak HTTP. */
static __always_inline struct conn *conn_find(__u64 skp, __u16 lport, __u16 rport, bool *skip)
{
	struct conn *c = bpf_map_lookup_elem(&http_conns, &skp);

	/* an entry whose socket's end went unseen, its address now another's */
	if (c && (c->local_port != lport || c->remote_port != rport))
		c = NULL;
	*skip = c && c->state == CONN_NOT_HTTP;
	return c;
}

/* A traced process's syscall nr (regs: its saved user registers) moved
 * ret > 0 bytes on the TCP socket at skp, in direction dir; c is its entry
 * (conn_find), NULL for a connection met now. */
static __always_inline int sock_io(struct conn *c, __u64 skp, const struct task_struct *task,
				   __u32 tgid, const struct pt_regs *regs, long nr, long ret,
				   __u8 dir)
{
	__u8 kind = buf_kind(task, regs, nr);
	__u32 fd = kind == BUF_NONE && nr != NR_SENDFILE ? ~0U : PT_REGS_PARM1_SYSCALL(regs);
	struct data_src d;
	bool request;

	if (!c) {
		c = conn_new(skp, tgid, dir, ret);
		if (!c)
			return 0;
	}
	if (kind == BUF_NONE ||
	    !data_src_of(PT_REGS_PARM2_SYSCALL(regs), PT_REGS_PARM3_SYSCALL(regs), kind, &d)) {
		/* bytes not read (sendfile, ...): counted, so userspace keeps
		 * its place in the stream */
		if (c->state == CONN_HTTP)
			emit(c, tgid, fd, HTTP_REC_DATA, dir, HTTP_F_UNCAPTURED, NULL, ret);
		return 0;
	}
	if (c->state == CONN_UNSURE) {
		int sn = sniff(d.buf, ret < d.len ? ret : d.len, &request);
		if (sn == SNIFF_SHORT)
			return 0; /* a few bytes say nothing yet */
		if (sn == SNIFF_NO) {
			/* a connection seen from its start says at once; one met
			 * mid-stream may be inside a body */
			if (c->fresh || ++c->tries >= SNIFF_TRIES) {
				c->state = CONN_NOT_HTTP;
				count(HTTP_STAT_NOT_HTTP);
			}
			return 0;
		}
		c->state = CONN_HTTP;
		c->role = (request == (dir == HTTP_DIR_IN)) ? HTTP_ROLE_SERVER : HTTP_ROLE_CLIENT;
	}
	emit(c, tgid, fd, HTTP_REC_DATA, dir, kind == BUF_PLAIN ? 0 : HTTP_F_VECTOR, &d, ret);
	return 0;
}

/* Whether the current task's socket I/O is to be looked at: a traced
 * process's, made by a syscall (not a kernel thread's, not io_uring's
 * workers', whose registers say nothing of it). */
static __always_inline bool task_traced(struct task_struct *task, __u32 tgid)
{
	if (task->flags & (PF_KTHREAD | PF_IO_WORKER))
		return false;
	return traced(tgid);
}

static __always_inline bool is_tcp(const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	return (family == AF_INET || family == AF_INET6) && sk->sk_type == SOCK_STREAM &&
	       sk->sk_protocol == IPPROTO_TCP;
}

/* The socket way (see the top). */
static __always_inline int sock_length(struct sock *sk, int ret, __u8 dir)
{
	struct task_struct *task;
	struct pt_regs *regs;
	struct conn *c;
	bool skip;
	__u32 tgid;

	if (ret <= 0 || !is_tcp(sk))
		return 0;
	task = bpf_get_current_task_btf();
	tgid = task->tgid;
	if (!task_traced(task, tgid))
		return 0;
	c = conn_find((__u64)sk, sk->__sk_common.skc_num, bpf_ntohs(sk->__sk_common.skc_dport),
		      &skip);
	if (skip)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	return sock_io(c, (__u64)sk, task, tgid, regs, syscall_nr(regs), ret, dir);
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(http_sock_send, struct sock *sk, int ret, int flags)
{
	return sock_length(sk, ret, HTTP_DIR_OUT);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(http_sock_recv, struct sock *sk, int ret, int flags)
{
	if (flags & MSG_PEEK)
		return 0; /* the bytes stay; the read that takes them counts */
	return sock_length(sk, ret, HTTP_DIR_IN);
}

/* The syscall way (see the top). */
SEC("tp_btf/sys_exit")
int BPF_PROG(http_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr(regs);
	struct task_struct *task;
	struct conn *c;
	struct sock *sk;
	bool skip;
	__u32 tgid;
	__u8 dir;

	switch (nr) {
	case NR_READ:
	case NR_RECVFROM:
	case NR_READV:
	case NR_RECVMSG:
		dir = HTTP_DIR_IN;
		break;
	case NR_WRITE:
	case NR_SENDTO:
	case NR_WRITEV:
	case NR_SENDMSG:
	case NR_SENDFILE:
		dir = HTTP_DIR_OUT;
		break;
	default:
		return 0;
	}
	if (ret <= 0)
		return 0;
	task = bpf_get_current_task_btf();
	if (!native_syscall(task, regs))
		return 0;
	tgid = task->tgid;
	if (!task_traced(task, tgid))
		return 0;
	sk = tcp_sock_of(task, PT_REGS_PARM1_SYSCALL(regs));
	if (!sk)
		return 0;
	c = conn_find((__u64)sk, BPF_CORE_READ(sk, __sk_common.skc_num),
		      bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport)), &skip);
	if (skip)
		return 0;
	return sock_io(c, (__u64)sk, task, tgid, regs, nr, ret, dir);
}

/* A TCP socket changed state: when the process has closed it (close(2) shuts
 * both ways before the FIN goes) or it was reset, userspace is told once;
 * at TCP_CLOSE the entry goes. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(http_sock_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 skp = (__u64)sk;
	struct conn *c;

	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_LAST_ACK && newstate != TCP_CLOSE)
		return 0;
	c = bpf_map_lookup_elem(&http_conns, &skp);
	if (!c)
		return 0;
	if (c->state == CONN_HTTP && !c->closed &&
	    (newstate == TCP_CLOSE || (sk->sk_shutdown & SHUTDOWN_MASK) == SHUTDOWN_MASK)) {
		c->closed = 1;
		emit(c, c->tgid, ~0U, HTTP_REC_CLOSE, HTTP_DIR_OUT, 0, NULL, 0);
	}
	if (newstate == TCP_CLOSE)
		bpf_map_delete_elem(&http_conns, &skp);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
