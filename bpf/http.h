/* http.h: the records bpf/http.bpf.c writes to its ring buffer, shared by the
 * kernel program and userspace (userspace/httpcap.c). */
#ifndef GLIMPSE_BPF_HTTP_H
#define GLIMPSE_BPF_HTTP_H

#define HTTP_CAPTURE_MAX 4096 /* bytes of one syscall's data a record can hold */

enum http_rec_type {
	HTTP_REC_DATA = 1,  /* bytes read or written on a connection */
	HTTP_REC_CLOSE = 2, /* the connection's descriptor was closed */
};

enum http_dir {
	HTTP_DIR_IN = 0,  /* read by the process */
	HTTP_DIR_OUT = 1, /* written by the process */
};

enum http_role {
	HTTP_ROLE_UNKNOWN = 0, /* not known yet: never in a record sent */
	HTTP_ROLE_CLIENT = 1,  /* connect(2) made it */
	HTTP_ROLE_SERVER = 2,  /* accept(2) made it */
};

enum http_rec_flags {
	HTTP_F_UNCAPTURED = 1 << 0, /* bytes counted, not read (sendfile, splice, ...) */
	HTTP_F_VECTOR = 1 << 1,	    /* readv/writev/recvmsg/sendmsg: up to 4 buffers captured */
};

/* Indexes of the per-CPU counters in the http_stats map. */
enum http_stat {
	HTTP_STAT_SENT = 0,	   /* records written */
	HTTP_STAT_DROPPED = 1,	   /* ring buffer full: record lost */
	HTTP_STAT_CONNS = 2,	   /* TCP connections found */
	HTTP_STAT_NOT_HTTP = 3,	   /* connections found not to speak HTTP/1.x */
	HTTP_STAT_READ_FAILED = 4, /* the process's buffer could not be read */
	HTTP_STAT_MAX = 5,
};

struct http_rec {
	unsigned char type;	  /* enum http_rec_type */
	unsigned char dir;	  /* enum http_dir */
	unsigned char role;	  /* enum http_role */
	unsigned char family;	  /* AF_INET or AF_INET6 */
	unsigned int flags;	  /* enum http_rec_flags */
	unsigned long long ts_ns; /* bpf_ktime_get_ns(); 0 when no byte was captured */
	unsigned long long cgroup_id;
	unsigned long long conn_id; /* unique while the agent runs */
	unsigned int tgid;
	unsigned int fd;
	unsigned long long total;		       /* bytes the syscall moved */
	unsigned int captured;			       /* bytes of them in data */
	unsigned short local_port, remote_port;	       /* host order */
	unsigned char local_addr[16], remote_addr[16]; /* IPv4: the first 4 bytes */
	char data[HTTP_CAPTURE_MAX];
};

#define HTTP_REC_HEADER_SIZE ((unsigned long)&((struct http_rec *)0)->data)

#endif
