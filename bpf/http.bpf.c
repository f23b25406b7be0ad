// SPDX-License-Identifier: GPL-2.0
/* http.bpf.c: the bytes containers read and write on TCP connections that
 * speak HTTP/1.x, from syscall tracepoints only.
 *
 * On enter a syscall's arguments are stashed per thread; on exit, when bytes
 * moved, the descriptor is looked up in http_conns ({tgid, fd}). A descriptor
 * met for the first time is checked once through task->files (a TCP socket?
 * its addresses), and its first bytes are sniffed for a request method or
 * "HTTP/1."; connections found not to be HTTP (and descriptors that are not
 * TCP sockets) are remembered and skipped at the next syscall's enter with a
 * single lookup. For HTTP connections a record carries the byte count and a
 * bounded prefix of the data; parsing is userspace's.
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

#define AF_INET	    2
#define AF_INET6    10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define S_IFMT	    00170000
#define S_IFSOCK    0140000
#define EINPROGRESS 115

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

enum args_kind { ARGS_READ, ARGS_WRITE, ARGS_SENDFILE, ARGS_CONNECT };
enum args_buf { BUF_PLAIN, BUF_IOVEC, BUF_MSGHDR };

struct http_args {
	__u64 buf; /* the buffer, the iovec array or the msghdr */
	__u32 fd;
	__u8 kind;     /* enum args_kind */
	__u8 buf_kind; /* enum args_buf */
	__u16 pad;
};

/* A syscall's arguments between its enter and its exit, per thread. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct http_args);
} http_args SEC(".maps");

enum conn_state { CONN_NEW, CONN_UNSURE, CONN_HTTP, CONN_NOT_HTTP, CONN_NOT_TCP };

struct conn_key {
	__u32 tgid;
	__u32 fd;
};

struct conn {
	__u64 id;
	__u64 cgroup_id; /* of the process, when the connection was met */
	__u8 state;	 /* enum conn_state */
	__u8 role;	 /* enum http_role */
	__u8 family;
	__u8 tries; /* segments sniffed while unsure */
	__u16 local_port, remote_port;
	__u8 local_addr[16], remote_addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn);
} http_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} conn_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_rec);
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

static __always_inline bool traced(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 *known, yes;
	__u64 cgid;

	if (trace_host)
		return true;
	known = bpf_map_lookup_elem(&traced_procs, &tgid);
	if (known)
		return *known;
	cgid = cgroup_id();
	yes = bpf_map_lookup_elem(&tracked_cgroups, &cgid) != NULL;
	bpf_map_update_elem(&traced_procs, &tgid, &yes, BPF_ANY);
	return yes;
}

static __always_inline int forget_proc(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&traced_procs, &tgid);
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

static __always_inline struct conn_key conn_key_of(__u32 fd)
{
	struct conn_key k = {.tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd};

	return k;
}

/* A syscall on fd starts: remembers its arguments unless fd is known to be
 * of no interest. */
static __always_inline int enter(__u32 fd, __u64 buf, __u8 kind, __u8 buf_kind)
{
	struct conn_key k = conn_key_of(fd);
	struct conn *c = bpf_map_lookup_elem(&http_conns, &k);
	__u64 id = bpf_get_current_pid_tgid();
	struct http_args a = {.buf = buf, .fd = fd, .kind = kind, .buf_kind = buf_kind};

	if (c && (c->state == CONN_NOT_HTTP || c->state == CONN_NOT_TCP))
		return 0;
	/* a connection is only ever made for a traced process */
	if (!c && !traced())
		return 0;
	bpf_map_update_elem(&http_args, &id, &a, BPF_ANY);
	return 0;
}

/* The socket behind fd when it is a TCP one. */
static __always_inline struct sock *tcp_sock_of(__u32 fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
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

/* The first buffer of a plain, iovec or msghdr argument and its length. */
static __always_inline const char *first_buffer(const struct http_args *a, __u64 *len)
{
	struct iovec iov = {};
	const struct iovec *iovp = (const void *)a->buf;

	*len = ~0ULL;
	if (a->buf_kind == BUF_PLAIN)
		return (const char *)a->buf;
	if (a->buf_kind == BUF_MSGHDR) {
		struct user_msghdr msg = {};
		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)a->buf) != 0)
			return NULL;
		iovp = msg.msg_iov;
	}
	if (!iovp || bpf_probe_read_user(&iov, sizeof(iov), iovp) != 0)
		return NULL;
	*len = iov.iov_len;
	return iov.iov_base;
}

static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&http_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

/* Sends a record for connection c: total bytes moved, the first of them
 * (up to capture_bytes) read from buf. */
static __always_inline void emit(const struct conn *c, __u32 fd, __u8 type, __u8 dir, __u32 flags,
				 const char *buf, __u64 buf_len, __u64 total)
{
	__u32 zero = 0, n = 0;
	struct http_rec *r = bpf_map_lookup_elem(&scratch, &zero);
	__u64 want = total < buf_len ? total : buf_len;

	if (!r)
		return;
	r->type = type;
	r->dir = dir;
	r->role = c->role;
	r->family = c->family;
	r->flags = flags;
	r->ts_ns = bpf_ktime_get_ns();
	r->cgroup_id = c->cgroup_id;
	r->conn_id = c->id;
	r->tgid = bpf_get_current_pid_tgid() >> 32;
	r->fd = fd;
	r->total = total;
	r->local_port = c->local_port;
	r->remote_port = c->remote_port;
	__builtin_memcpy(r->local_addr, c->local_addr, sizeof(r->local_addr));
	__builtin_memcpy(r->remote_addr, c->remote_addr, sizeof(r->remote_addr));
	if (buf && want) {
		n = want < capture_bytes ? want : capture_bytes;
		if (n > HTTP_CAPTURE_MAX)
			n = HTTP_CAPTURE_MAX;
		if (n && bpf_probe_read_user(r->data, n, buf) != 0) {
			count(HTTP_STAT_READ_FAILED);
			n = 0;
		}
	}
	r->captured = n;
	if (n > HTTP_CAPTURE_MAX)
		return;
	if (bpf_ringbuf_output(&http_events, r, HTTP_REC_HEADER_SIZE + n, rb_flags()) != 0) {
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

/* The connection of fd, made when new (role: from connect or accept). */
static __always_inline struct conn *conn_of(__u32 fd, __u8 role, bool fresh)
{
	struct conn_key k = conn_key_of(fd);
	struct conn *c = bpf_map_lookup_elem(&http_conns, &k);
	struct conn n = {};

	if (c && !fresh)
		return c;
	n.id = next_conn_id();
	n.cgroup_id = cgroup_id();
	n.state = CONN_NEW;
	n.role = role;
	bpf_map_update_elem(&http_conns, &k, &n, BPF_ANY);
	return bpf_map_lookup_elem(&http_conns, &k);
}

/* A syscall that moved ret bytes on a descriptor returns. */
static __always_inline int data_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid(), len;
	struct http_args *ap = bpf_map_lookup_elem(&http_args, &id);
	struct http_args a;
	struct conn *c;
	const char *buf;
	bool request;
	__u8 dir;

	if (!ap)
		return 0;
	a = *ap;
	bpf_map_delete_elem(&http_args, &id);
	if (ret <= 0 || a.kind == ARGS_CONNECT)
		return 0;
	c = conn_of(a.fd, HTTP_ROLE_UNKNOWN, false);
	if (!c)
		return 0;
	if (c->state == CONN_NEW) {
		struct sock *sk = tcp_sock_of(a.fd);
		if (!sk) {
			c->state = CONN_NOT_TCP;
			return 0;
		}
		read_addresses(c, sk);
		c->state = CONN_UNSURE;
		count(HTTP_STAT_CONNS);
	}
	if (c->state != CONN_UNSURE && c->state != CONN_HTTP)
		return 0;
	dir = a.kind == ARGS_READ ? HTTP_DIR_IN : HTTP_DIR_OUT;
	if (a.kind == ARGS_SENDFILE) {
		if (c->state == CONN_HTTP)
			emit(c, a.fd, HTTP_REC_DATA, HTTP_DIR_OUT, HTTP_F_SENDFILE, NULL, 0, ret);
		return 0;
	}
	buf = first_buffer(&a, &len);
	if (!buf)
		return 0;
	if (c->state == CONN_UNSURE) {
		int sn = sniff(buf, ret < len ? ret : len, &request);
		if (sn == SNIFF_SHORT)
			return 0; /* a few bytes say nothing yet */
		if (sn == SNIFF_NO) {
			/* a connection seen from its start says at once; one met
			 * mid-stream may be inside a body */
			if (c->role != HTTP_ROLE_UNKNOWN || ++c->tries >= SNIFF_TRIES) {
				c->state = CONN_NOT_HTTP;
				count(HTTP_STAT_NOT_HTTP);
			}
			return 0;
		}
		c->state = CONN_HTTP;
		if (c->role == HTTP_ROLE_UNKNOWN)
			c->role =
			    (request == (dir == HTTP_DIR_IN)) ? HTTP_ROLE_SERVER : HTTP_ROLE_CLIENT;
	}
	emit(c, a.fd, HTTP_REC_DATA, dir, a.buf_kind == BUF_PLAIN ? 0 : HTTP_F_VECTOR, buf, len,
	     ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int http_enter_read(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_READ, BUF_PLAIN);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int http_enter_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_READ, BUF_PLAIN);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int http_enter_readv(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_READ, BUF_IOVEC);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int http_enter_recvmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_READ, BUF_MSGHDR);
}

SEC("tracepoint/syscalls/sys_enter_write")
int http_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_WRITE, BUF_PLAIN);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int http_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_WRITE, BUF_PLAIN);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int http_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_WRITE, BUF_IOVEC);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int http_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], ctx->args[1], ARGS_WRITE, BUF_MSGHDR);
}

SEC("tracepoint/syscalls/sys_enter_sendfile64")
int http_enter_sendfile(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], 0, ARGS_SENDFILE, BUF_PLAIN);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int http_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return enter(ctx->args[0], 0, ARGS_CONNECT, BUF_PLAIN);
}

SEC("tracepoint/syscalls/sys_exit_read")
int http_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int http_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_readv")
int http_exit_readv(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int http_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_write")
int http_exit_write(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int http_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_writev")
int http_exit_writev(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int http_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int http_exit_sendfile(struct trace_event_raw_sys_exit *ctx)
{
	return data_exit(ctx->ret);
}

/* connect(2) made fd a client connection (also while it is in progress). */
SEC("tracepoint/syscalls/sys_exit_connect")
int http_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct http_args *ap = bpf_map_lookup_elem(&http_args, &id);
	__u32 fd;

	if (!ap)
		return 0;
	fd = ap->fd;
	bpf_map_delete_elem(&http_args, &id);
	if (ctx->ret == 0 || ctx->ret == -EINPROGRESS)
		conn_of(fd, HTTP_ROLE_CLIENT, true);
	return 0;
}

static __always_inline int accept_exit(long ret)
{
	if (ret >= 0 && traced())
		conn_of((__u32)ret, HTTP_ROLE_SERVER, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int http_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int http_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(ctx->ret);
}

/* The descriptor is closed: userspace is told about HTTP connections (their
 * last exchange may end with the close); every entry of fd is forgotten. */
SEC("tracepoint/syscalls/sys_enter_close")
int http_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	__u32 fd = ctx->args[0];
	struct conn_key k = conn_key_of(fd);
	struct conn *c = bpf_map_lookup_elem(&http_conns, &k);

	if (!c)
		return 0;
	if (c->state == CONN_HTTP)
		emit(c, fd, HTTP_REC_CLOSE, HTTP_DIR_OUT, 0, NULL, 0, 0);
	bpf_map_delete_elem(&http_conns, &k);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
