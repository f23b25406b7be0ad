/* test_cgroup_path.c: unit tests for cgroup_path.c.
 *
 * The tables below hold real cgroup paths (from the shared fixtures' sources,
 * see tests/data/cgroup/README.md) and always run. When the shared fixtures
 * are present, every row of their cgroup tables is checked too; rows whose
 * source expects something specific to that tool are listed with the reason
 * and with what this parser answers instead.
 */
#define _POSIX_C_SOURCE 200809L

#include "cgroup_path.h"
#include "testing.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>

#define ID_D166 "d166c6190614efc91956b78e96d74c3fbc96ca8e91948c36de3bc5b0e7b27d48"
#define ID_671A "671a50f5d60566556912f61511d0ec9e4d5c78d53fbc4676727180438bbbbc55"
#define ID_32C5 "32c562ed81a2622b37b80cb216859820ba51bd694f60ee4cf10d07a4011266f8"
#define ID_6342 "63425c4a8b4291744a79dd9011fddc7a1f8ffda61f65d72196aa01d00cae2e2d"
#define ID_634E "63425c4a8b4291744a79dd9011fddc7a1f8ffda61f65d72196aa01d00cae2e2e"
#define ID_49F9 "49f9e8e5395d57c1083996c09e2e6f042d5fe1ec0310facab32f94912b35ce59"
#define ID_2157 "21572039dd8398ff8272b031fa5422a40165145ab37f2f8794e1e7f844fe8118"
#define ID_C74B "c74b0f5062f0bc726cae1e9369ad4a95deed6b298d247f0407475adb23fa3190"
#define ID_D4A9 "d4a9f9195eaf7e4a729f24151101e1de61f1398677e7b82acfb936dff0b4ce55"
#define ID_69E8 "69e8ded3c33c9d5e2b93acd74787b17a8629f74d6707bc5bb9b2e095337d0263"
#define ID_BA7B "ba7b10d15d16e10e3de7a2dcd408a3d971169ae303f46cfad4c5453c6326fee2"
#define ID_A534 "a534eb629135e43beb13213976e37bb2ab95cba4c0d1d0b4e27c6bc4d8091b83"
#define ID_0ECC "0ecc7949cbaf17e883264ea1055f60b184a7cb264fd759c4a692e1155086fe2d"
#define ID_6569 "656959d9ee87a0b131c601ce9d9f8f76b1dda60e8608c503b5979d849cbdc714"
#define ID_8AFE "8afe480d66074930353da456a1344caca810fe31c1e31f6e08c95a66887235d6"
#define ID_40C0 "40c03570b6f4c30bc8d69923d37ee698f5cfcced92c7b7df1c47f6f7887378a9"
#define ID_264C "264c1e319d1f6080a48a9fabcf9ac8fd9afd9a5930cf35e8d0eeb03b258c3152"
#define ID_1B33 "1b3319ed9c1d4cca681f9c102da9b015555785b6240c4e4619f11b535cabdc07"
#define ID_C114 "c1146e7ccca9ab4436abd69923c07d097b37b762ed21cc3f24584c2f84e77c57"
#define ID_21E6 "21e677e6fe95215ea48bcb5609c10e67ba8e76a7a3ea749af704e72260eb93fe"
#define ID_0CA2 "0ca2b3cd20e5f55a2bbe8d4aa3f811cf7963b40f0542ad147054b0fcb60fc400"
#define ID_EC5F "ec5fd62ba68d0b75a3cbdb7f7f78b526440b7969e22b2b362fb6f429ded42fdc"
#define ID_89E8 "89e89703fbd1e88b72d279d951ce389d3742874205196d73f96e0dcbc0da0659"
#define ID_5AAF "5aaf9eb7648eeb1459d86eaa0ace8bcfa93089642e5c3113a14250dae3238aaf"
#define ID_84E9 "84e9ffffe97fea4c5a0f01d401611cbafbf7e559fc6190ed74abfc2b25e889d4"
#define ID_A2FF "a2ffe0e97ac22657a2a023ad628e9df837c38a03b1ebc904d3f6d644eb1a1a81"
#define ID_17DB "17db96a24ae1e9dd57143e62b1cb0d2d35e693c65c774c7470e87b0572e07c1a"
#define ID_95CB "95cbe853416f52d927dec41f1406dd75015ea131244a1ca875a7cd4ebe927ac8"
#define ID_CF87 "cf87ba651579c9231db817909e7865e5747bd7abcac0c57ce23cf4abbaee046b"
#define ID_7305 "73051af271105c07e1f493b34856a77e665e3b0b4fc72f76c807dfbffeb881bd"

#define K	 CGPATH_CONTAINER
#define P	 CGPATH_POD
#define O	 CGPATH_OTHER
#define R_NONE	 CGPATH_RUNTIME_UNKNOWN
#define R_CTRD	 CGPATH_RUNTIME_CONTAINERD
#define R_CRIO	 CGPATH_RUNTIME_CRIO
#define R_DOCKER CGPATH_RUNTIME_DOCKER
#define Q_NONE	 CGPATH_QOS_UNKNOWN
#define Q_G	 CGPATH_QOS_GUARANTEED
#define Q_BU	 CGPATH_QOS_BURSTABLE
#define Q_BE	 CGPATH_QOS_BESTEFFORT

/* What a parse should give; runtime -1 means "not compared". */
struct expect {
	enum cgpath_kind kind;
	int runtime;
	enum cgpath_qos qos;
	const char *pod_uid;
	const char *container_id;
};

struct path_case {
	const char *path;
	struct expect want;
};

static const struct path_case path_cases[] = {
    /* kubelet cgroupfs driver */
    {"/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166,
     {K, R_NONE, Q_BU, "9729a196c4723b60ab401eaff722982d", ID_D166}},
    {"/kubepods/besteffort/pod0d08203e-255a-11e9-8cd9-0007cb0b2cc8/" ID_671A "/kube-proxy",
     {K, R_NONE, Q_BE, "0d08203e-255a-11e9-8cd9-0007cb0b2cc8", ID_671A}},
    {"/kubepods/poda38c12e8-255a-11e9-8cd9-0007cb0b2cc8/" ID_32C5,
     {K, R_NONE, Q_G, "a38c12e8-255a-11e9-8cd9-0007cb0b2cc8", ID_32C5}},
    {"/kubepods/poda48c12e8-255a-11e9-8cd9-0007cb0b2cc8/crio-" ID_634E,
     {K, R_CRIO, Q_G, "a48c12e8-255a-11e9-8cd9-0007cb0b2cc8", ID_634E}},
    {"/kubepods/besteffort/pod081d040e-c94b-41ea-8278-eb12903ddd99",
     {P, R_NONE, Q_BE, "081d040e-c94b-41ea-8278-eb12903ddd99", ""}},
    {"/kubepods/burstable/pod07bd11a0a13dfe5450a17a39eb8e32d2",
     {P, R_NONE, Q_BU, "07bd11a0a13dfe5450a17a39eb8e32d2", ""}},
    {"/kubepods/pod567cc614-001a-402b-99fd-3d1f8db83f30",
     {P, R_NONE, Q_G, "567cc614-001a-402b-99fd-3d1f8db83f30", ""}},
    {"/kubepods", {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods/besteffort", {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods/burstable", {O, R_NONE, Q_NONE, "", ""}},

    /* kubelet systemd driver */
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice/crio-" ID_49F9 ".scope",
     {K, R_CRIO, Q_BU, "2942c55e-c9cb-428a-93f4-eaf89c1f3ce0", ID_49F9}},
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-podea19ff5d_943a_4466_a07e_a71e9e50cc62.slice/crio-" ID_2157
     ".scope/container",
     {K, R_CRIO, Q_BU, "ea19ff5d-943a-4466-a07e-a71e9e50cc62", ID_2157}},
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod3e61c214bc3ed9ff81e21474dd6cba17.slice/cri-containerd-" ID_C74B,
     {K, R_CTRD, Q_BU, "3e61c214bc3ed9ff81e21474dd6cba17", ID_C74B}},
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod471203d1_984f_477e_9c35_db96487ffe5e.slice/cri-containerd-" ID_A534
     ".scope",
     {K, R_CTRD, Q_BU, "471203d1-984f-477e-9c35-db96487ffe5e", ID_A534}},
    {"/kubepods.slice/kubepods-besteffort.slice/"
     "kubepods-besteffort-podeb653d22_2525_47ca_9fc4_3762497ae1d2.slice/docker-" ID_84E9 ".scope",
     {K, R_DOCKER, Q_BE, "eb653d22-2525-47ca-9fc4-3762497ae1d2", ID_84E9}},
    /* The two below follow the kubelet's systemd naming for a guaranteed pod
     * and CRI-O's conmon scope; the other parts are from the rows above. */
    {"/kubepods.slice/kubepods-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice/crio-" ID_49F9
     ".scope",
     {K, R_CRIO, Q_G, "2942c55e-c9cb-428a-93f4-eaf89c1f3ce0", ID_49F9}},
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice/crio-conmon-" ID_49F9
     ".scope",
     {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice",
     {P, R_NONE, Q_BU, "2942c55e-c9cb-428a-93f4-eaf89c1f3ce0", ""}},
    {"/kubepods.slice/kubepods-burstable.slice", {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods.slice", {O, R_NONE, Q_NONE, "", ""}},

    /* containerd's "<slice>:<prefix>:<id>" form */
    {"/system.slice/containerd.service/"
     "kubepods-burstable-pod4ed02c0b_0df8_4d14_a30e_fd589ee4143a.slice:cri-containerd:" ID_D4A9,
     {K, R_CTRD, Q_BU, "4ed02c0b-0df8-4d14-a30e-fd589ee4143a", ID_D4A9}},
    {"/podruntime.slice/containerd.service/"
     "kubepods-burstable-pod29349498_197c_4919_b13f_9a928e7d001b.slice:cri-containerd:" ID_0CA2,
     {K, R_CTRD, Q_BU, "29349498-197c-4919-b13f-9a928e7d001b", ID_0CA2}},

    /* nested: a kubelet inside a docker container (kind, minikube) */
    {"/docker/" ID_8AFE "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
     "kubelet-kubepods-besteffort-pod44c76ce5_f953_4bd3_bc89_12621681af49.slice/"
     "cri-containerd-" ID_40C0 ".scope",
     {K, R_CTRD, Q_BE, "44c76ce5-f953-4bd3-bc89-12621681af49", ID_40C0}},
    {"/system.slice/docker-" ID_40C0 ".scope/kubepods/burstable/"
     "podc55ba69a-e39f-44af-925d-c4794fd57878/" ID_264C,
     {K, R_NONE, Q_BU, "c55ba69a-e39f-44af-925d-c4794fd57878", ID_264C}},
    {"/system.slice/docker-" ID_C114 ".scope/kubelet/kubepods/"
     "pod55db13a1-c151-4cdd-a48b-e002a2b1fb58/" ID_21E6,
     {K, R_NONE, Q_G, "55db13a1-c151-4cdd-a48b-e002a2b1fb58", ID_21E6}},
    {"/system.slice/docker-" ID_1B33 ".scope/kubepods.slice/kubepods-besteffort.slice/"
     "kubepods-besteffort-podeb653d22_2525_47ca_9fc4_3762497ae1d2.slice/docker-" ID_84E9 ".scope",
     {K, R_DOCKER, Q_BE, "eb653d22-2525-47ca-9fc4-3762497ae1d2", ID_84E9}},
    /* the innermost kubepods tree decides, even when it names no pod */
    {"/system.slice/docker-" ID_C114 ".scope/kubelet/kubepods/burstable",
     {O, R_NONE, Q_NONE, "", ""}},
    /* the kind node's own services run inside the outer docker container */
    {"/system.slice/docker-" ID_1B33 ".scope/init.scope", {K, R_DOCKER, Q_NONE, "", ID_1B33}},
    {"/system.slice/docker-" ID_C114 ".scope/system.slice/kubelet.service",
     {K, R_DOCKER, Q_NONE, "", ID_C114}},

    /* paths relative to a cgroup namespace */
    {"/../../kubepods-besteffort-pod88f6f4e3_59c0_4ce8_9ecf_391c8b5a60ad.slice/docker-" ID_6569
     ".scope",
     {K, R_DOCKER, Q_BE, "88f6f4e3-59c0-4ce8-9ecf-391c8b5a60ad", ID_6569}},
    {"/../cri-containerd-" ID_40C0 ".scope", {K, R_CTRD, Q_NONE, "", ID_40C0}},
    {"/../../pode039200acb850c82bb901653cc38ff6e/" ID_40C0,
     {K, R_NONE, Q_NONE, "e039200acb850c82bb901653cc38ff6e", ID_40C0}},
    {"/../../../../system.slice/docker-" ID_BA7B ".scope", {K, R_DOCKER, Q_NONE, "", ID_BA7B}},
    {"/../../user.slice/user-501.slice/session-3.scope", {O, R_NONE, Q_NONE, "", ""}},

    /* containers outside Kubernetes: no pod UID */
    {"/docker/" ID_6342, {K, R_DOCKER, Q_NONE, "", ID_6342}},
    {"/system.slice/docker-" ID_BA7B ".scope", {K, R_DOCKER, Q_NONE, "", ID_BA7B}},
    {"/system.slice/cri-containerd-" ID_69E8 ".scope", {K, R_CTRD, Q_NONE, "", ID_69E8}},
    {"/actions_job/" ID_EC5F, {K, R_NONE, Q_NONE, "", ID_EC5F}},
    {"/" ID_5AAF, {K, R_NONE, Q_NONE, "", ID_5AAF}},
    {"/machine.slice/libpod-" ID_89E8 ".scope/container", {O, R_NONE, Q_NONE, "", ""}},

    /* not containers */
    {"/", {O, R_NONE, Q_NONE, "", ""}},
    {"/system.slice/containerd.service", {O, R_NONE, Q_NONE, "", ""}},
    {"/system.slice/system-serial\\x2dgetty.slice", {O, R_NONE, Q_NONE, "", ""}},
    {"/lxc/mysql-primary-db", {O, R_NONE, Q_NONE, "", ""}},
    {"/podruntime/kubelet", {O, R_NONE, Q_NONE, "", ""}},
    {"/libpod_parent/conmon", {O, R_NONE, Q_NONE, "", ""}},

    /* made-up edges around the real names */
    /* docker inside a pod's container: still that pod's container */
    {"/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166 "/docker/" ID_6342,
     {K, R_NONE, Q_BU, "9729a196c4723b60ab401eaff722982d", ID_D166}},
    {"/kubepods/besteffort/pod0D08203E-255A-11E9-8CD9-0007CB0B2CC8",
     {P, R_NONE, Q_BE, "0d08203e-255a-11e9-8cd9-0007cb0b2cc8", ""}},
    {"/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/"
     "D166C6190614EFC91956B78E96D74C3FBC96CA8E91948C36DE3BC5B0E7B27D48",
     {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/"
     "d166c6190614efc91956b78e96d74c3fbc96ca8e91948c36de3bc5b0e7b27d4",
     {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166 "0",
     {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166 "/..",
     {O, R_NONE, Q_NONE, "", ""}},
    {"/kubepods/./burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166,
     {O, R_NONE, Q_NONE, "", ""}},
    {"//kubepods//burstable/pod9729a196c4723b60ab401eaff722982d//" ID_D166 "/",
     {K, R_NONE, Q_BU, "9729a196c4723b60ab401eaff722982d", ID_D166}},
    {"/kubepods/burstable/pod9729a196-c472-3b60-ab40-1eaff722982d0/" ID_D166,
     {K, R_NONE, Q_NONE, "", ID_D166}},
    {"/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice/crio-" ID_49F9 ".scope.x",
     {O, R_NONE, Q_NONE, "", ""}},
    {"/system.slice/kubepods-burstable-pod2942c55e_c9cb_428a_93f4_eaf89c1f3ce0.slice:runc:" ID_49F9,
     {O, R_NONE, Q_NONE, "", ""}},
};

static enum cgpath_qos qos_from_word(const char *s)
{
	if (strcmp(s, "guaranteed") == 0)
		return CGPATH_QOS_GUARANTEED;
	if (strcmp(s, "burstable") == 0)
		return CGPATH_QOS_BURSTABLE;
	if (strcmp(s, "besteffort") == 0)
		return CGPATH_QOS_BESTEFFORT;
	return CGPATH_QOS_UNKNOWN;
}

/* Compares one result with what is wanted; prints both on a mismatch. */
static int expect_info(const char *input, const struct cgpath_info *got, const struct expect *want)
{
	int ok = got->kind == want->kind && got->qos == want->qos &&
		 (want->runtime < 0 || (int)got->runtime == want->runtime) &&
		 strcmp(got->pod_uid, want->pod_uid) == 0 &&
		 strcmp(got->container_id, want->container_id) == 0;

	if (!ok) {
		fprintf(stderr, "  input: %s\n", input);
		fprintf(stderr,
			"    got:  kind=%d runtime=\"%s\" qos=\"%s\" uid=\"%s\" id=\"%s\"\n",
			got->kind, cgpath_runtime_name(got->runtime), cgpath_qos_name(got->qos),
			got->pod_uid, got->container_id);
		fprintf(stderr,
			"    want: kind=%d runtime=\"%s\" qos=\"%s\" uid=\"%s\" id=\"%s\"\n",
			want->kind,
			want->runtime < 0 ? "(any)"
					  : cgpath_runtime_name((enum cgpath_runtime)want->runtime),
			cgpath_qos_name(want->qos), want->pod_uid, want->container_id);
	}
	CHECK(ok);
	return ok;
}

/* Parses len bytes from a heap copy of exactly that size, so that AddressSanitizer
 * sees any read past the end. */
static int parse_exact(int (*parse)(const char *, size_t, struct cgpath_info *), const char *s,
		       size_t len, struct cgpath_info *out)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		abort();
	memcpy(copy, s, len);
	rc = parse(copy, len, out);
	free(copy);
	return rc;
}

static int is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* What every result must satisfy, whatever the input. */
static void check_invariants(int rc, const struct cgpath_info *info, const char *input, size_t len)
{
	size_t uid_len = strnlen(info->pod_uid, sizeof(info->pod_uid));
	size_t id_len = strnlen(info->container_id, sizeof(info->container_id));
	int ok = rc == 0 || rc == -EINVAL;

	ok = ok && uid_len < sizeof(info->pod_uid) && id_len < sizeof(info->container_id);
	if (ok && (rc != 0 || info->kind == CGPATH_OTHER))
		ok = info->kind == CGPATH_OTHER && info->runtime == CGPATH_RUNTIME_UNKNOWN &&
		     info->qos == CGPATH_QOS_UNKNOWN && uid_len == 0 && id_len == 0;
	if (ok && info->kind == CGPATH_POD)
		ok = uid_len > 0 && id_len == 0 && info->runtime == CGPATH_RUNTIME_UNKNOWN;
	if (ok && info->kind == CGPATH_CONTAINER)
		ok = id_len == CGPATH_ID_MAX && is_lower_hex(info->container_id, id_len);
	if (ok && uid_len > 0) {
		ok = uid_len == 32
			 ? is_lower_hex(info->pod_uid, 32)
			 : uid_len == 36 && info->pod_uid[8] == '-' && info->pod_uid[13] == '-' &&
			       info->pod_uid[18] == '-' && info->pod_uid[23] == '-';
	}
	if (ok && info->qos != CGPATH_QOS_UNKNOWN)
		ok = uid_len > 0;
	ok = ok && info->kind <= CGPATH_CONTAINER && info->runtime <= CGPATH_RUNTIME_DOCKER &&
	     info->qos <= CGPATH_QOS_BESTEFFORT;
	if (!ok)
		fprintf(stderr, "  invariant broken (rc %d) for %zu bytes: %.*s\n", rc, len,
			(int)len, input);
	CHECK(ok);
}

TEST(test_paths)
{
	size_t n = sizeof(path_cases) / sizeof(path_cases[0]);

	for (size_t i = 0; i < n; i++) {
		const struct path_case *c = &path_cases[i];
		struct cgpath_info info;
		int rc = parse_exact(cgpath_parse, c->path, strlen(c->path), &info);

		CHECK_INT_EQ(rc, 0);
		expect_info(c->path, &info, &c->want);
		check_invariants(rc, &info, c->path, strlen(c->path));
	}
}

TEST(test_path_rejected)
{
	struct cgpath_info info;
	const char *rel = "kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166;

	memset(&info, 0xa5, sizeof(info));
	CHECK_INT_EQ(cgpath_parse("", 0, &info), -EINVAL);
	CHECK_INT_EQ(info.kind, CGPATH_OTHER);
	CHECK_STR_EQ(info.pod_uid, "");
	CHECK_INT_EQ(cgpath_parse(NULL, 0, &info), -EINVAL);
	CHECK_INT_EQ(cgpath_parse(rel, strlen(rel), &info), -EINVAL);
	CHECK_INT_EQ(cgpath_parse("/kubepods", 9, NULL), -EINVAL);
	CHECK_INT_EQ(cgpath_parse_proc("0::/", 4, NULL), -EINVAL);
	CHECK_INT_EQ(cgpath_parse_proc(NULL, 0, &info), -EINVAL);
}

/* 4096 bytes is the longest path taken. */
TEST(test_path_length_limit)
{
	const char *head = "/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166;
	char *buf = malloc(4097);
	struct cgpath_info info;
	size_t len = strlen(head);

	if (!buf)
		abort();
	memcpy(buf, head, len);
	for (size_t i = len; i < 4097; i++)
		buf[i] = (i - len) % 2 ? 'x' : '/'; /* "/x/x…": components below the container */
	CHECK_INT_EQ(parse_exact(cgpath_parse, buf, 4096, &info), 0);
	CHECK_INT_EQ(info.kind, CGPATH_CONTAINER);
	CHECK_STR_EQ(info.container_id, ID_D166);
	CHECK_INT_EQ(parse_exact(cgpath_parse, buf, 4097, &info), -EINVAL);
	CHECK_INT_EQ(info.kind, CGPATH_OTHER);
	CHECK_STR_EQ(info.container_id, "");
	free(buf);
}

/* Only len bytes count: a longer string cut short is read as the shorter path. */
TEST(test_path_len_not_nul)
{
	const char *full = "/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d/" ID_D166;
	size_t pod_len = strlen("/kubepods/burstable/pod9729a196c4723b60ab401eaff722982d");
	struct cgpath_info info;

	CHECK_INT_EQ(parse_exact(cgpath_parse, full, pod_len, &info), 0);
	CHECK_INT_EQ(info.kind, CGPATH_POD);
	CHECK_STR_EQ(info.pod_uid, "9729a196c4723b60ab401eaff722982d");
	CHECK_STR_EQ(info.container_id, "");

	CHECK_INT_EQ(parse_exact(cgpath_parse, full, strlen(full) - 1, &info), 0);
	CHECK_INT_EQ(info.kind, CGPATH_OTHER);

	/* A NUL byte is part of the name: a whole fixed-size buffer is no match. */
	char buf[256] = {0};
	memcpy(buf, full, strlen(full));
	CHECK_INT_EQ(cgpath_parse(buf, sizeof(buf), &info), 0);
	CHECK_INT_EQ(info.kind, CGPATH_OTHER);
}

/* Every prefix of every case parses without reading past its end. */
TEST(test_path_prefixes)
{
	size_t n = sizeof(path_cases) / sizeof(path_cases[0]);

	for (size_t i = 0; i < n; i++) {
		const char *p = path_cases[i].path;

		for (size_t len = 0; len <= strlen(p); len++) {
			struct cgpath_info info;
			int rc = parse_exact(cgpath_parse, p, len, &info);

			check_invariants(rc, &info, p, len);
		}
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random edits of the real paths: the invariants hold and nothing is read out
 * of bounds. */
TEST(test_path_mutations)
{
	static const char alphabet[] = "/-_:.0af9AFpodcrislpx\\\n\0\xff";
	size_t n = sizeof(path_cases) / sizeof(path_cases[0]);
	char buf[1024];
	int rounds = 0;

	for (int iter = 0; iter < 20000; iter++) {
		const char *src = path_cases[rng_next() % n].path;
		size_t len = strlen(src);
		int edits = 1 + (int)(rng_next() % 4);
		struct cgpath_info info;
		int rc;

		memcpy(buf, src, len);
		for (int e = 0; e < edits; e++) {
			size_t at = len ? rng_next() % len : 0;
			char ch = alphabet[rng_next() % (sizeof(alphabet) - 1)];

			switch (rng_next() % 4) {
			case 0: /* replace */
				if (len)
					buf[at] = ch;
				break;
			case 1: /* insert */
				if (len < sizeof(buf) - 1) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = ch;
					len++;
				}
				break;
			case 2: /* delete */
				if (len) {
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				}
				break;
			default: /* cut */
				len = at;
				break;
			}
		}
		rc = parse_exact(cgpath_parse, buf, len, &info);
		check_invariants(rc, &info, buf, len);
		rc = parse_exact(cgpath_parse_proc, buf, len, &info);
		check_invariants(rc, &info, buf, len);
		rounds++;
	}
	CHECK_INT_EQ(rounds, 20000);
}

TEST(test_names)
{
	CHECK_STR_EQ(cgpath_runtime_name(CGPATH_RUNTIME_CONTAINERD), "containerd");
	CHECK_STR_EQ(cgpath_runtime_name(CGPATH_RUNTIME_CRIO), "cri-o");
	CHECK_STR_EQ(cgpath_runtime_name(CGPATH_RUNTIME_DOCKER), "docker");
	CHECK_STR_EQ(cgpath_runtime_name(CGPATH_RUNTIME_UNKNOWN), "");
	CHECK_STR_EQ(cgpath_qos_name(CGPATH_QOS_GUARANTEED), "Guaranteed");
	CHECK_STR_EQ(cgpath_qos_name(CGPATH_QOS_BURSTABLE), "Burstable");
	CHECK_STR_EQ(cgpath_qos_name(CGPATH_QOS_BESTEFFORT), "BestEffort");
	CHECK_STR_EQ(cgpath_qos_name(CGPATH_QOS_UNKNOWN), "");
}

struct proc_case {
	const char *content;
	int rc;
	struct expect want;
};

static const struct proc_case proc_cases[] = {
    {"", -EINVAL, {O, R_NONE, Q_NONE, "", ""}},
    {"\n\n", -EINVAL, {O, R_NONE, Q_NONE, "", ""}},
    {"kubepods/burstable\n", -EINVAL, {O, R_NONE, Q_NONE, "", ""}},
    {":cpu:/docker/" ID_6342 "\n", -EINVAL, {O, R_NONE, Q_NONE, "", ""}},
    {"4:pids/docker/" ID_6342 "\n", -EINVAL, {O, R_NONE, Q_NONE, "", ""}},
    {"0::/\n", 0, {O, R_NONE, Q_NONE, "", ""}},
    {"11:perf_event:\n", 0, {O, R_NONE, Q_NONE, "", ""}},
    {"0::/init.scope", 0, {O, R_NONE, Q_NONE, "", ""}},
    /* real single lines (Alloy, tetragon) */
    {"12:cpuset:/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-pod471203d1_984f_477e_9c35_db96487ffe5e.slice/cri-containerd-" ID_A534
     ".scope",
     0,
     {K, R_CTRD, Q_BU, "471203d1-984f-477e-9c35-db96487ffe5e", ID_A534}},
    {"0::/kubepods.slice/kubepods-burstable.slice/"
     "kubepods-burstable-podb57320a0_e7eb_4ac8_a791_4c4472796867.slice/crio-" ID_0ECC ".scope\n",
     0,
     {K, R_CRIO, Q_BU, "b57320a0-e7eb-4ac8-a791-4c4472796867", ID_0ECC}},
    {"4:pids:/podruntime.slice/containerd.service/"
     "kubepods-burstable-pod29349498_197c_4919_b13f_9a928e7d001b.slice:cri-containerd:" ID_0CA2,
     0,
     {K, R_CTRD, Q_BU, "29349498-197c-4919-b13f-9a928e7d001b", ID_0CA2}},
    /* the v2 line wins when it names a container, even when it comes last */
    {"1:name=systemd:/docker/" ID_6342 "\n0::/docker/" ID_8AFE
     "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
     "kubelet-kubepods-besteffort-pod44c76ce5_f953_4bd3_bc89_12621681af49.slice/"
     "cri-containerd-" ID_40C0 ".scope\n",
     0,
     {K, R_CTRD, Q_BE, "44c76ce5-f953-4bd3-bc89-12621681af49", ID_40C0}},
    /* garbage lines around a good one are skipped */
    {"junk\n\n7:cpu,cpuacct:/kubepods/pod567cc614-001a-402b-99fd-3d1f8db83f30\nmore junk",
     0,
     {P, R_NONE, Q_G, "567cc614-001a-402b-99fd-3d1f8db83f30", ""}},
};

TEST(test_proc_inline)
{
	size_t n = sizeof(proc_cases) / sizeof(proc_cases[0]);

	for (size_t i = 0; i < n; i++) {
		const struct proc_case *c = &proc_cases[i];
		size_t len = strlen(c->content);
		struct cgpath_info info;
		int rc = parse_exact(cgpath_parse_proc, c->content, len, &info);

		CHECK_INT_EQ(rc, c->rc);
		expect_info(c->content, &info, &c->want);
		for (size_t cut = 0; cut <= len; cut++) {
			rc = parse_exact(cgpath_parse_proc, c->content, cut, &info);
			check_invariants(rc, &info, c->content, cut);
		}
	}
}

struct proc_file_case {
	const char *file;
	struct expect want;
};

static const struct proc_file_case proc_file_cases[] = {
    {"v1_kubepods_cgroupfs.cgroup",
     {K, R_NONE, Q_BU, "6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e", ID_17DB}},
    {"hybrid_v1_wins.cgroup", {K, R_NONE, Q_BU, "8833712d-6e69-4f5c-95f3-aebd020ce2e7", ID_95CB}},
    {"hybrid_v2_wins.cgroup", {K, R_DOCKER, Q_NONE, "", ID_CF87}},
    {"hybrid_host_service.cgroup", {O, R_NONE, Q_NONE, "", ""}},
    {"v2_systemd_docker.cgroup",
     {K, R_DOCKER, Q_BE, "8712f785-1a3e-41ec-a00b-e2dcc77431cb", ID_7305}},
    {"hybrid_nested_kind.cgroup",
     {K, R_CTRD, Q_BE, "44c76ce5-f953-4bd3-bc89-12621681af49", ID_40C0}},
};

TEST(test_proc_files)
{
	size_t n = sizeof(proc_file_cases) / sizeof(proc_file_cases[0]);

	for (size_t i = 0; i < n; i++) {
		char path[512];
		size_t len = 0;
		char *content;
		struct cgpath_info info;

		snprintf(path, sizeof(path), "tests/data/cgroup/%s", proc_file_cases[i].file);
		content = testing_read_file(path, &len);
		if (!content) {
			fprintf(stderr, "  cannot read %s (run from the repository root)\n", path);
			CHECK(content != NULL);
			continue;
		}
		CHECK_INT_EQ(parse_exact(cgpath_parse_proc, content, len, &info), 0);
		expect_info(path, &info, &proc_file_cases[i].want);
		free(content);
	}
}

/* --- shared fixtures --- */

/* Splits line at tabs in place; returns the number of fields (empty ones count). */
static int split_tabs(char *line, char **fields, int max)
{
	int n = 0;

	while (n < max) {
		char *tab = strchr(line, '\t');

		fields[n++] = line;
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

/* Calls fn for each line that is neither empty nor a '#' comment. */
static int for_each_row(char *text, void (*fn)(char *line, void *arg), void *arg)
{
	int rows = 0;

	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (*line && *line != '#') {
			fn(line, arg);
			rows++;
		}
		line = nl ? nl + 1 : NULL;
	}
	return rows;
}

static int looks_like_proc_line(const char *s)
{
	const char *p = s;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > s && *p == ':' && strchr(p + 1, ':') != NULL;
}

static int parse_any(const char *input, struct cgpath_info *info)
{
	if (looks_like_proc_line(input))
		return parse_exact(cgpath_parse_proc, input, strlen(input), info);
	return parse_exact(cgpath_parse, input, strlen(input), info);
}

/* Rows of cgroup_paths.tsv whose source expects something tool-specific. The
 * source's expectation is not asserted for them; what this parser answers
 * instead is. */
struct disagreement {
	const char *source;
	const char *cgroup;
	const char *reason;
	struct expect ours;
};

static const struct disagreement path_disagreements[] = {
    {"coroot",
     "/system.slice/cri-containerd-" ID_69E8 ".scope",
     "coroot calls a containerd container outside kubepods a standalone process; "
     "we report the container, with no pod",
     {K, R_CTRD, Q_NONE, "", ID_69E8}},
    {"obi",
     "0::/system.slice/docker-" ID_40C0 ".scope/kubepods/burstable/"
     "podc55ba69a-e39f-44af-925d-c4794fd57878/" ID_264C,
     "OBI expects the outer docker id of a nested node; we take the innermost kubepods "
     "container",
     {K, R_NONE, Q_BU, "c55ba69a-e39f-44af-925d-c4794fd57878", ID_264C}},
    {"tetragon",
     "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-6fb480da903b96185cd4"
     "97db694641d13534e2b80cf4cb738b6691677146adea.scope/container",
     "podman (libpod) is no runtime of this agent",
     {O, R_NONE, Q_NONE, "", ""}},
    {"tetragon",
     "0::/machine.slice/libpod-" ID_89E8 ".scope/container",
     "podman (libpod) is no runtime of this agent",
     {O, R_NONE, Q_NONE, "", ""}},
    {"tetragon",
     "0::/libpod_parent/libpod-01f3c60cfaadbb51e4d5947dd2ef0480d53551cbcee8f3ada8c3723b2bf03bf4",
     "podman (libpod) is no runtime of this agent",
     {O, R_NONE, Q_NONE, "", ""}},
    {"tetragon",
     "0::/system.slice/docker-" ID_1B33 ".scope/init.scope",
     "tetragon hides the kind/minikube node container from its own services; "
     "we report the docker container they run in, with no pod",
     {K, R_DOCKER, Q_NONE, "", ID_1B33}},
    {"tetragon",
     "0::/system.slice/docker-" ID_1B33 ".scope/system.slice/containerd.service",
     "tetragon hides the kind/minikube node container from its own services; "
     "we report the docker container they run in, with no pod",
     {K, R_DOCKER, Q_NONE, "", ID_1B33}},
    {"tetragon",
     "0::/system.slice/docker-" ID_C114 ".scope/system.slice/containerd.service",
     "tetragon hides the kind/minikube node container from its own services; "
     "we report the docker container they run in, with no pod",
     {K, R_DOCKER, Q_NONE, "", ID_C114}},
    {"tetragon",
     "0::/system.slice/docker-" ID_C114 ".scope/system.slice/kubelet.service",
     "tetragon hides the kind/minikube node container from its own services; "
     "we report the docker container they run in, with no pod",
     {K, R_DOCKER, Q_NONE, "", ID_C114}},
};

struct tally {
	int checked;
	int skipped;
	int used[sizeof(path_disagreements) / sizeof(path_disagreements[0])];
};

/* coroot names systemd services, Talos services and LXC containers with ids
 * of its own making (e.g. "/talos/kubelet"); none is a Kubernetes container. */
static int coroot_synthetic(const char *type)
{
	return strcmp(type, "SystemdService") == 0 || strcmp(type, "TalosRuntime") == 0 ||
	       strcmp(type, "Lxc") == 0;
}

/* The runtime a source names for a row: coroot's type, or Alloy's containerID scheme. */
static int hinted_runtime(const char *hint)
{
	if (strcmp(hint, "Docker") == 0 || strstr(hint, "docker://"))
		return CGPATH_RUNTIME_DOCKER;
	if (strcmp(hint, "Containerd") == 0 || strstr(hint, "containerd://"))
		return CGPATH_RUNTIME_CONTAINERD;
	if (strcmp(hint, "Crio") == 0 || strstr(hint, "cri-o://"))
		return CGPATH_RUNTIME_CRIO;
	return -1;
}

static void check_path_row(char *line, void *arg)
{
	struct tally *t = arg;
	char *f[6];
	struct cgpath_info info;
	struct expect want;
	int rc, hint;

	if (split_tabs(line, f, 6) != 6) {
		fprintf(stderr, "  cgroup_paths.tsv: malformed row: %s\n", line);
		CHECK(0);
		return;
	}
	rc = parse_any(f[1], &info);
	for (size_t i = 0; i < sizeof(path_disagreements) / sizeof(path_disagreements[0]); i++) {
		const struct disagreement *d = &path_disagreements[i];

		if (strcmp(d->source, f[0]) == 0 && strcmp(d->cgroup, f[1]) == 0) {
			printf("  skip %s row %s: %s\n", f[0], f[1], d->reason);
			CHECK_INT_EQ(rc, 0);
			expect_info(f[1], &info, &d->ours);
			t->used[i]++;
			t->skipped++;
			return;
		}
	}
	if (strcmp(f[0], "coroot") == 0 && coroot_synthetic(f[2])) {
		printf("  skip coroot row %s: synthetic %s id \"%s\" is no container id\n", f[1],
		       f[2], f[3]);
		want = (struct expect){CGPATH_OTHER, CGPATH_RUNTIME_UNKNOWN, CGPATH_QOS_UNKNOWN, "",
				       ""};
		CHECK_INT_EQ(rc, 0);
		expect_info(f[1], &info, &want);
		t->skipped++;
		return;
	}

	if (f[1][0] == '\0') {
		/* tetragon's empty line: no container */
		CHECK_INT_EQ(rc, -EINVAL);
	} else {
		CHECK_INT_EQ(rc, 0);
	}
	want.kind = f[3][0] ? CGPATH_CONTAINER : f[4][0] ? CGPATH_POD : CGPATH_OTHER;
	want.runtime = -1;
	want.qos = qos_from_word(f[5]);
	want.pod_uid = f[4];
	want.container_id = f[3];
	expect_info(f[1], &info, &want);
	hint = hinted_runtime(f[2]);
	if (hint >= 0 && info.runtime != CGPATH_RUNTIME_UNKNOWN && (int)info.runtime != hint) {
		fprintf(stderr, "  %s: runtime %s, source says %s\n", f[1],
			cgpath_runtime_name(info.runtime), f[2]);
		CHECK(0);
	}
	t->checked++;
}

TEST(test_fixture_cgroup_paths)
{
	const char *dir = testing_fixtures_dir();
	char path[512];
	struct tally t = {0};
	char *text;
	int rows;

	if (!dir)
		SKIP("shared fixtures not found ($GLIMPSE_FIXTURES or ../shared/fixtures)");
	snprintf(path, sizeof(path), "%s/cgroup/cgroup_paths.tsv", dir);
	text = testing_read_file(path, NULL);
	CHECK(text != NULL);
	if (!text)
		return;
	rows = for_each_row(text, check_path_row, &t);
	free(text);
	printf("  cgroup_paths.tsv: %d rows, %d checked, %d skipped as tool-specific\n", rows,
	       t.checked, t.skipped);
	CHECK_INT_EQ(t.checked + t.skipped, rows);
	CHECK(t.checked >= 40);
	for (size_t i = 0; i < sizeof(path_disagreements) / sizeof(path_disagreements[0]); i++)
		CHECK_INT_EQ(t.used[i], 1); /* every listed disagreement is still in the data */
}

static void check_nri_row(char *line, void *arg)
{
	int *checked = arg;
	char *f[10];
	struct cgpath_info info;
	struct expect want;

	/* path, pod uid, qos (both from the path), the pod's qosClass in the kubelet's
	 * PodList, container id (from the path), ... */
	if (split_tabs(line, f, 10) < 5) {
		fprintf(stderr, "  nri-kubernetes tsv: malformed row: %s\n", line);
		CHECK(0);
		return;
	}
	CHECK_INT_EQ(parse_exact(cgpath_parse, f[0], strlen(f[0]), &info), 0);
	want.kind = f[4][0] ? CGPATH_CONTAINER : f[1][0] ? CGPATH_POD : CGPATH_OTHER;
	want.runtime = CGPATH_RUNTIME_UNKNOWN; /* cgroupfs driver */
	/* a QoS level alone ("/kubepods/burstable") is no pod: no QoS reported */
	want.qos = f[1][0] ? qos_from_word(f[2]) : CGPATH_QOS_UNKNOWN;
	want.pod_uid = f[1];
	want.container_id = f[4];
	expect_info(f[0], &info, &want);
	if (f[1][0])
		CHECK_STR_EQ(cgpath_qos_name(info.qos), f[3]);
	(*checked)++;
}

TEST(test_fixture_nri_cadvisor)
{
	const char *dir = testing_fixtures_dir();
	char path[512];
	int checked = 0, rows;
	char *text;

	if (!dir)
		SKIP("shared fixtures not found ($GLIMPSE_FIXTURES or ../shared/fixtures)");
	snprintf(path, sizeof(path), "%s/cgroup/nri-kubernetes_1_35_cadvisor_cgroups.tsv", dir);
	text = testing_read_file(path, NULL);
	CHECK(text != NULL);
	if (!text)
		return;
	rows = for_each_row(text, check_nri_row, &checked);
	free(text);
	printf("  nri-kubernetes_1_35_cadvisor_cgroups.tsv: %d rows, %d checked, 0 skipped\n", rows,
	       checked);
	CHECK_INT_EQ(checked, rows);
	CHECK(checked >= 50);
}

/* Pod UID, QoS and runtime for the proc files naming a container, read off
 * the files (proc/expected.tsv gives only the container id). */
static const struct proc_file_case proc_fixture_pods[] = {
    {"coroot_200.cgroup", {K, R_DOCKER, Q_NONE, "", NULL}},
    {"coroot_300.cgroup", {K, R_NONE, Q_BU, "6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e", NULL}},
    {"coroot_400.cgroup", {K, R_DOCKER, Q_BE, "8712f785-1a3e-41ec-a00b-e2dcc77431cb", NULL}},
    {"coroot_500.cgroup", {K, R_DOCKER, Q_NONE, "", NULL}},
    {"coroot_800.cgroup", {K, R_DOCKER, Q_NONE, "", NULL}},
    {"coroot_2000.cgroup", {K, R_NONE, Q_BU, "8833712d-6e69-4f5c-95f3-aebd020ce2e7", NULL}},
    {"obi_123.cgroup", {K, R_CTRD, Q_BE, "44c76ce5-f953-4bd3-bc89-12621681af49", NULL}},
    {"obi_456.cgroup", {K, R_CTRD, Q_BE, "44c76ce5-f953-4bd3-bc89-12621681af49", NULL}},
    {"obi_589.cgroup", {K, R_NONE, Q_BU, "4a163a05-439d-484b-8e53-2968bc15824f", NULL}},
    {"obi_689.cgroup", {K, R_NONE, Q_BU, "b53dfa9e2dc9b890f7fadb2770857b03", NULL}},
    {"obi_788.cgroup", {K, R_CTRD, Q_BU, "dde1244b-5bb5-4297-b544-85f3bc0d80bf", NULL}},
    {"obi_789.cgroup", {K, R_CTRD, Q_NONE, "", NULL}},
    {"obi_889.cgroup", {K, R_CTRD, Q_BU, "7260904bbd08e72e4dff95d9fccd2ee8", NULL}},
    {"obi_899.cgroup", {K, R_NONE, Q_NONE, "e039200acb850c82bb901653cc38ff6e", NULL}},
};

/* proc files whose source expectation is not asserted, with what we answer. */
static const struct {
	const char *file;
	const char *reason;
	struct expect ours;
} proc_fixture_disagreements[] = {
    {"obi_999.cgroup",
     "OBI expects the outer docker id of a nested node; we take the innermost kubepods "
     "container",
     {K, R_NONE, Q_BU, "c55ba69a-e39f-44af-925d-c4794fd57878", ID_264C}},
    {"obi_1011.cgroup",
     "OBI finds no container in plain /docker/<id> v1 lines; we report that docker "
     "container, with no pod",
     {K, R_DOCKER, Q_NONE, "", ID_A2FF}},
    {"coroot_550.cgroup",
     "coroot asserts nothing here; a host service is no container",
     {O, R_NONE, Q_NONE, "", ""}},
    {"coroot_1000.cgroup",
     "coroot asserts nothing here; a host getty is no container",
     {O, R_NONE, Q_NONE, "", ""}},
};

struct proc_row {
	char *file, *coroot_id, *container_id, *type;
	int seen;
};

static void check_proc_file(const char *dir, struct proc_row *row, int *checked, int *skipped)
{
	char path[512];
	size_t len = 0;
	char *content;
	struct cgpath_info info;
	struct expect want = {CGPATH_OTHER, CGPATH_RUNTIME_UNKNOWN, CGPATH_QOS_UNKNOWN, "", ""};
	int rc;

	snprintf(path, sizeof(path), "%s/cgroup/proc/%s", dir, row->file);
	content = testing_read_file(path, &len);
	CHECK(content != NULL);
	if (!content)
		return;
	rc = parse_exact(cgpath_parse_proc, content, len, &info);
	free(content);
	CHECK_INT_EQ(rc, 0);

	for (size_t i = 0;
	     i < sizeof(proc_fixture_disagreements) / sizeof(proc_fixture_disagreements[0]); i++) {
		if (strcmp(proc_fixture_disagreements[i].file, row->file) == 0) {
			printf("  skip proc/%s: %s\n", row->file,
			       proc_fixture_disagreements[i].reason);
			expect_info(path, &info, &proc_fixture_disagreements[i].ours);
			(*skipped)++;
			return;
		}
	}
	if (coroot_synthetic(row->type)) {
		printf("  skip proc/%s: synthetic %s id \"%s\" is no container id\n", row->file,
		       row->type, row->container_id);
		expect_info(path, &info, &want);
		(*skipped)++;
		return;
	}

	CHECK(strlen(row->container_id) == CGPATH_ID_MAX);
	want.kind = CGPATH_CONTAINER;
	want.container_id = row->container_id;
	want.runtime = -1;
	for (size_t i = 0; i < sizeof(proc_fixture_pods) / sizeof(proc_fixture_pods[0]); i++) {
		if (strcmp(proc_fixture_pods[i].file, row->file) == 0) {
			want.runtime = proc_fixture_pods[i].want.runtime;
			want.qos = proc_fixture_pods[i].want.qos;
			want.pod_uid = proc_fixture_pods[i].want.pod_uid;
		}
	}
	if (want.runtime < 0) {
		fprintf(stderr, "  proc/%s: no pod expectation in proc_fixture_pods\n", row->file);
		CHECK(0);
	}
	expect_info(path, &info, &want);
	(*checked)++;
}

TEST(test_fixture_proc)
{
	const char *dir = testing_fixtures_dir();
	struct proc_row rows[64];
	char path[512];
	int n_rows = 0, files = 0, checked = 0, skipped = 0;
	char *text, *line;
	DIR *d;
	const struct dirent *e;

	if (!dir)
		SKIP("shared fixtures not found ($GLIMPSE_FIXTURES or ../shared/fixtures)");
	snprintf(path, sizeof(path), "%s/cgroup/proc/expected.tsv", dir);
	text = testing_read_file(path, NULL);
	CHECK(text != NULL);
	if (!text)
		return;
	for (line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		char *f[5];

		if (nl)
			*nl = '\0';
		if (*line && *line != '#' && n_rows < 64 && split_tabs(line, f, 5) >= 4) {
			rows[n_rows] = (struct proc_row){f[0], f[1], f[2], f[3], 0};
			n_rows++;
		}
		line = nl ? nl + 1 : NULL;
	}

	snprintf(path, sizeof(path), "%s/cgroup/proc", dir);
	d = opendir(path);
	CHECK(d != NULL);
	while (d && (e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		int found = 0;

		if (len < 7 || strcmp(e->d_name + len - 7, ".cgroup") != 0)
			continue;
		files++;
		for (int i = 0; i < n_rows; i++) {
			if (strcmp(rows[i].file, e->d_name) == 0) {
				check_proc_file(dir, &rows[i], &checked, &skipped);
				rows[i].seen++;
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "  proc/%s has no row in expected.tsv\n", e->d_name);
			CHECK(found);
		}
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n_rows; i++)
		CHECK_INT_EQ(rows[i].seen, 1);
	free(text);
	printf("  proc/*.cgroup: %d files, %d checked, %d skipped as tool-specific\n", files,
	       checked, skipped);
	CHECK_INT_EQ(files, n_rows);
	CHECK(checked >= 12);
}

int main(void)
{
	RUN(test_paths);
	RUN(test_path_rejected);
	RUN(test_path_length_limit);
	RUN(test_path_len_not_nul);
	RUN(test_path_prefixes);
	RUN(test_path_mutations);
	RUN(test_names);
	RUN(test_proc_inline);
	RUN(test_proc_files);
	RUN(test_fixture_cgroup_paths);
	RUN(test_fixture_nri_cadvisor);
	RUN(test_fixture_proc);
	return testing_done();
}
