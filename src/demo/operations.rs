//! The platform's operations, beside its shoppers: the control plane and the kubelets, staff
//! on the bastion and in the cluster, the CI pipeline, application roles and people calling
//! AWS, cron, the nightly report, and the internet's SSH scanners.

use serde_json::json;

use super::formats::{self, AuditLine, Caller, TrailLine};
use super::logs::{Service, Timeline};
use super::platform::{
    BROWSERS, ORDERS_POD_IP, PAYMENTS_POD, PAYMENTS_POD_IP, PAYMENTS_ROLE, Platform, REPORTING_KEY,
    SCANNED_USERS, SECOND, STAFF, STAFF_GROUPS,
};

impl Platform {
    /// The control plane and the kubelets talking to the API server.
    pub(super) fn control_plane(&mut self, time: i64, timeline: &mut Timeline) {
        let node = self.rng.below(3) + 1;
        let node_user = format!("system:node:worker-{node}");
        let node_ip = format!("10.0.1.{}", 10 + node);
        let (verb, uri, user, source_ip, agent, object) = match self.rng.below(5) {
            0 => (
                "update",
                "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler"
                    .to_string(),
                "system:kube-scheduler".to_string(),
                "10.0.0.2".to_string(),
                "kube-scheduler/v1.29.2",
                json!({"resource": "leases", "namespace": "kube-system", "name": "kube-scheduler", "apiGroup": "coordination.k8s.io", "apiVersion": "v1"}),
            ),
            1 => (
                "list",
                "/api/v1/namespaces/payments/secrets".to_string(),
                "system:kube-controller-manager".to_string(),
                "10.0.0.2".to_string(),
                "kube-controller-manager/v1.29.2",
                json!({"resource": "secrets", "namespace": "payments", "apiVersion": "v1"}),
            ),
            2 => (
                "get",
                format!("/api/v1/namespaces/payments/pods/{PAYMENTS_POD}"),
                node_user,
                node_ip,
                "kubelet/v1.29.2",
                json!({"resource": "pods", "namespace": "payments", "name": PAYMENTS_POD, "apiVersion": "v1"}),
            ),
            3 => (
                "get",
                "/api/v1/namespaces/orders/secrets/orders-db".to_string(),
                node_user,
                node_ip,
                "kubelet/v1.29.2",
                json!({"resource": "secrets", "namespace": "orders", "name": "orders-db", "apiVersion": "v1"}),
            ),
            _ => (
                "watch",
                "/api/v1/endpoints?watch=true".to_string(),
                "system:serviceaccount:kube-system:coredns".to_string(),
                "10.42.0.5".to_string(),
                "coredns/v1.11.1",
                json!({"resource": "endpoints", "apiVersion": "v1"}),
            ),
        };
        let audit_id = self.rng.uuid();
        let line = formats::k8s_audit(&AuditLine {
            time,
            audit_id: &audit_id,
            verb,
            request_uri: &uri,
            user: &user,
            groups: &["system:authenticated"],
            source_ip: &source_ip,
            user_agent: agent,
            object_ref: object,
            code: 200,
            request_object: None,
        });
        timeline.push(time, Service::ClusterAudit, line);
    }

    /// An engineer on the bastion (sshd, a routine sudo) and looking at pods in the cluster.
    pub(super) fn staff_session(&mut self, start: i64, timeline: &mut Timeline) {
        let name = *self.rng.pick(&STAFF);
        let ip = Platform::staff_ip(name);
        let pid = 20_000 + self.rng.below(10_000) as u32;
        let port = 40_000 + self.rng.below(20_000);
        let fingerprint = self.rng.alnum_upper(20);
        let mut time = start;
        let accepted = format!(
            "Accepted publickey for {name} from {ip} port {port} ssh2: ED25519 SHA256:{fingerprint}"
        );
        timeline.push(
            time,
            Service::Bastion,
            formats::syslog(time, "sshd", Some(pid), &accepted),
        );
        let opened =
            format!("pam_unix(sshd:session): session opened for user {name}(uid=1001) by (uid=0)");
        timeline.push(
            time + 5_000,
            Service::Bastion,
            formats::syslog(time + 5_000, "sshd", Some(pid), &opened),
        );
        const ROUTINE: [&str; 4] = [
            "/usr/bin/systemctl status nginx",
            "/usr/bin/journalctl -u kubelet --since -1h",
            "/usr/bin/apt list --upgradable",
            "/usr/bin/tail -n 100 /var/log/syslog",
        ];
        for _ in 0..self.rng.below(3) {
            time += self.rng.between(20, 300) * SECOND;
            let command = *self.rng.pick(&ROUTINE);
            timeline.push(
                time,
                Service::Bastion,
                formats::sudo(time, name, "root", command),
            );
        }
        for _ in 0..self.rng.between(1, 4) {
            time += self.rng.between(10, 120) * SECOND;
            let (verb, uri, object) = if self.rng.chance(0.5) {
                (
                    "list",
                    "/api/v1/namespaces/orders/pods".to_string(),
                    json!({"resource": "pods", "namespace": "orders", "apiVersion": "v1"}),
                )
            } else {
                (
                    "get",
                    format!("/api/v1/namespaces/payments/pods/{PAYMENTS_POD}/log"),
                    json!({"resource": "pods", "namespace": "payments", "name": PAYMENTS_POD, "subresource": "log", "apiVersion": "v1"}),
                )
            };
            let audit_id = self.rng.uuid();
            let line = formats::k8s_audit(&AuditLine {
                time,
                audit_id: &audit_id,
                verb,
                request_uri: &uri,
                user: name,
                groups: &STAFF_GROUPS,
                source_ip: &ip,
                user_agent: "kubectl/v1.29.2",
                object_ref: object,
                code: 200,
                request_object: None,
            });
            timeline.push(time, Service::ClusterAudit, line);
        }
        time += self.rng.between(30, 600) * SECOND;
        let closed = format!("pam_unix(sshd:session): session closed for user {name}");
        timeline.push(
            time,
            Service::Bastion,
            formats::syslog(time, "sshd", Some(pid), &closed),
        );
    }

    /// The CI pipeline rolling out a new image.
    pub(super) fn ci_deploy(&mut self, time: i64, timeline: &mut Timeline) {
        let service = if self.rng.chance(0.5) {
            "orders"
        } else {
            "payments"
        };
        let key = format!(
            "ASIA{}{:06}",
            self.key_salt.chars().rev().collect::<String>(),
            time.div_euclid(3_600 * SECOND).rem_euclid(1_000_000)
        );
        let event_id = self.rng.uuid();
        let line = formats::cloudtrail(&TrailLine {
            time,
            caller: Caller::Role {
                role: "ci-deploy",
                session: "github-actions",
                access_key: &key,
            },
            event_source: "ecr.amazonaws.com",
            event_name: "GetAuthorizationToken",
            source_ip: "10.30.0.8",
            user_agent: "aws-sdk-go-v2/1.26.1",
            request_parameters: json!({}),
            response_elements: json!(null),
            event_id: &event_id,
            read_only: true,
            additional: None,
        });
        timeline.push(time, Service::Cloudtrail, line);
        let audit_id = self.rng.uuid();
        let uri = format!("/apis/apps/v1/namespaces/{service}/deployments/{service}");
        let line = formats::k8s_audit(&AuditLine {
            time: time + 20 * SECOND,
            audit_id: &audit_id,
            verb: "patch",
            request_uri: &uri,
            user: "system:serviceaccount:ci:deployer",
            groups: &["system:serviceaccounts", "system:authenticated"],
            source_ip: "10.30.0.8",
            user_agent: "kubectl/v1.29.2",
            object_ref: json!({"resource": "deployments", "namespace": service, "name": service, "apiGroup": "apps", "apiVersion": "v1"}),
            code: 200,
            request_object: None,
        });
        timeline.push(time + 20 * SECOND, Service::ClusterAudit, line);
    }

    /// The payments pod reading its database secret (and KMS decrypting it).
    pub(super) fn payments_reads_secret(&mut self, time: i64, timeline: &mut Timeline) {
        let key = self.payments_access_key(time);
        for (offset, source, name, parameters) in [
            (
                0,
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                json!({"secretId": "prod/payments/db"}),
            ),
            (
                200_000,
                "kms.amazonaws.com",
                "Decrypt",
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            ),
        ] {
            let event_id = self.rng.uuid();
            let line = formats::cloudtrail(&TrailLine {
                time: time + offset,
                caller: Caller::Role {
                    role: PAYMENTS_ROLE,
                    session: PAYMENTS_POD,
                    access_key: &key,
                },
                event_source: source,
                event_name: name,
                source_ip: PAYMENTS_POD_IP,
                user_agent: "aws-sdk-java/2.25.0",
                request_parameters: parameters,
                response_elements: json!(null),
                event_id: &event_id,
                read_only: true,
                additional: None,
            });
            timeline.push(time + offset, Service::Cloudtrail, line);
        }
    }

    pub(super) fn orders_stores_invoice(&mut self, time: i64, timeline: &mut Timeline) {
        let key = format!(
            "ASIA{}{:06}",
            &self.key_salt[..5].repeat(2),
            time.div_euclid(3_600 * SECOND).rem_euclid(1_000_000)
        );
        let invoice = 40_000 + self.rng.below(9_000);
        let event_id = self.rng.uuid();
        let line = formats::cloudtrail(&TrailLine {
            time,
            caller: Caller::Role {
                role: "orders-app",
                session: "orders-5c8b7d-m4zt",
                access_key: &key,
            },
            event_source: "s3.amazonaws.com",
            event_name: "PutObject",
            source_ip: ORDERS_POD_IP,
            user_agent: "aws-sdk-java/2.25.0",
            request_parameters: json!({"bucketName": "shop-invoices", "key": format!("invoices/{invoice}.pdf")}),
            response_elements: json!(null),
            event_id: &event_id,
            read_only: false,
            additional: None,
        });
        timeline.push(time, Service::Cloudtrail, line);
    }

    /// An engineer signing in to the AWS console, with MFA.
    pub(super) fn console_login(&mut self, time: i64, timeline: &mut Timeline) {
        let name = *self.rng.pick(&STAFF);
        let ip = Platform::staff_ip(name);
        let key = format!("AKIA{}", self.rng.alnum_upper(16));
        let event_id = self.rng.uuid();
        let line = formats::cloudtrail(&TrailLine {
            time,
            caller: Caller::User {
                name,
                access_key: &key,
            },
            event_source: "signin.amazonaws.com",
            event_name: "ConsoleLogin",
            source_ip: &ip,
            user_agent: BROWSERS[0],
            request_parameters: json!(null),
            response_elements: json!({"ConsoleLogin": "Success"}),
            event_id: &event_id,
            read_only: false,
            additional: Some(
                json!({"MFAUsed": "Yes", "LoginTo": "https://console.aws.amazon.com/"}),
            ),
        });
        timeline.push(time, Service::Cloudtrail, line);
    }

    pub(super) fn cron(&mut self, time: i64, timeline: &mut Timeline) {
        let pid = 30_000 + self.rng.below(5_000) as u32;
        let opened = "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)";
        let closed = "pam_unix(cron:session): session closed for user root";
        timeline.push(
            time,
            Service::Bastion,
            formats::syslog(time, "CRON", Some(pid), opened),
        );
        timeline.push(
            time + 2 * SECOND,
            Service::Bastion,
            formats::syslog(time + 2 * SECOND, "CRON", Some(pid), closed),
        );
    }

    /// The reporting job's nightly export, with the `svc-reporting` user's long-term key.
    pub(super) fn nightly_report(&mut self, time: i64, timeline: &mut Timeline) {
        for step in 0..4_i64 {
            let (name, read_only) = if step < 3 {
                ("GetObject", true)
            } else {
                ("PutObject", false)
            };
            let event_id = self.rng.uuid();
            let at = time + step * 30 * SECOND;
            let line = formats::cloudtrail(&TrailLine {
                time: at,
                caller: Caller::User {
                    name: "svc-reporting",
                    access_key: REPORTING_KEY,
                },
                event_source: "s3.amazonaws.com",
                event_name: name,
                source_ip: "10.30.0.21",
                user_agent: "aws-sdk-python/1.34.0 Boto3",
                request_parameters: json!({"bucketName": "shop-reports", "key": format!("daily/part-{step}.parquet")}),
                response_elements: json!(null),
                event_id: &event_id,
                read_only,
                additional: None,
            });
            timeline.push(at, Service::Cloudtrail, line);
        }
    }

    /// An internet scanner trying one account on the bastion's SSH port.
    pub(super) fn ssh_scanner(&mut self, time: i64, timeline: &mut Timeline) {
        let ip = format!("198.18.{}.{}", self.rng.below(250), 1 + self.rng.below(250));
        let user = *self.rng.pick(&SCANNED_USERS);
        let pid = 40_000 + self.rng.below(9_000) as u32;
        let port = 30_000 + self.rng.below(30_000);
        let lines = [
            format!("Invalid user {user} from {ip} port {port}"),
            format!("Failed password for invalid user {user} from {ip} port {port} ssh2"),
            format!("Connection closed by invalid user {user} {ip} port {port} [preauth]"),
        ];
        for (index, message) in lines.iter().enumerate() {
            let at = time + index as i64 * 1_500_000;
            timeline.push(
                at,
                Service::Bastion,
                formats::syslog(at, "sshd", Some(pid), message),
            );
        }
    }
}
