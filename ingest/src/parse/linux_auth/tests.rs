use std::net::IpAddr;

use super::{annotate, find, is_ip_address, rfind, trim};
use crate::event::{Class, Event, Outcome};

fn annotated<'a>(process: &str, message: &'a str) -> (bool, Event<'a>) {
    let mut event = Event::new("test");
    let recognised = annotate(process, message, &mut event);
    (recognised, event)
}

fn classified<'a>(process: &str, message: &'a str) -> Event<'a> {
    let (recognised, event) = annotated(process, message);
    assert!(recognised, "not recognised: {process}: {message}");
    event
}

fn summary<'e>(event: &'e Event<'_>) -> (Class, Option<&'e str>, Option<Outcome>) {
    (event.class, event.activity.as_deref(), event.outcome)
}

const LOGON_OK: (Class, Option<&str>, Option<Outcome>) =
    (Class::Authentication, Some("logon"), Some(Outcome::Success));
const LOGON_FAILED: (Class, Option<&str>, Option<Outcome>) =
    (Class::Authentication, Some("logon"), Some(Outcome::Failure));
const ESCALATED: (Class, Option<&str>, Option<Outcome>) = (
    Class::Authentication,
    Some("privilege_escalation"),
    Some(Outcome::Success),
);
const ESCALATION_FAILED: (Class, Option<&str>, Option<Outcome>) = (
    Class::Authentication,
    Some("privilege_escalation"),
    Some(Outcome::Failure),
);

#[test]
fn sshd_accepted_publickey_is_a_successful_logon_with_its_key() {
    let event = classified(
        "sshd",
        "Accepted publickey for ubuntu from 85.245.107.41 port 54259 ssh2: RSA SHA256:Kl8kPGZr",
    );
    assert_eq!(summary(&event), LOGON_OK);
    assert_eq!(event.user.as_deref(), Some("ubuntu"));
    assert_eq!(event.src_ip.as_deref(), Some("85.245.107.41"));
    assert_eq!(event.src_port, Some(54259));
    assert_eq!(event.attr("auth.method"), Some("publickey"));
    assert_eq!(event.attr("ssh.protocol"), Some("ssh2"));
    assert_eq!(event.attr("ssh.key"), Some("RSA SHA256:Kl8kPGZr"));
}

#[test]
fn sshd_failed_password_for_invalid_user_is_a_failed_logon() {
    let event = classified(
        "sshd",
        "Failed password for invalid user admin from 2001:db8::7 port 4022 ssh2",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.user.as_deref(), Some("admin"));
    assert_eq!(event.src_ip.as_deref(), Some("2001:db8::7"));
    assert_eq!(event.attr("auth.invalid_user"), Some("true"));
    assert_eq!(event.attr("auth.method"), Some("password"));
}

#[test]
fn sshd_keyboard_interactive_and_host_names() {
    let event = classified(
        "sshd",
        "Accepted keyboard-interactive/pam for alice from client.example.com port 50000 ssh2",
    );
    assert_eq!(summary(&event), LOGON_OK);
    assert_eq!(event.attr("auth.method"), Some("keyboard-interactive/pam"));
    assert_eq!(event.src_ip, None);
    assert_eq!(event.attr("auth.remote_host"), Some("client.example.com"));
    assert_eq!(event.src_port, Some(50000));
}

#[test]
fn sshd_empty_invalid_user_leaves_user_unset() {
    let event = classified("sshd", "Invalid user  from 34.204.227.175");
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.user, None);
    assert_eq!(event.src_ip.as_deref(), Some("34.204.227.175"));
    assert_eq!(event.src_port, None);
    let event = classified(
        "sshd",
        "Failed password for invalid user  from 34.204.227.175 port 19074 ssh2",
    );
    assert_eq!(event.user, None);
    assert_eq!(event.src_port, Some(19074));
}

#[test]
fn sshd_invalid_user_with_port() {
    let event = classified("sshd", "Invalid user oracle from 10.0.0.9 port 51234");
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.user.as_deref(), Some("oracle"));
    assert_eq!(event.src_port, Some(51234));
}

#[test]
fn sshd_user_name_containing_from_is_kept_whole() {
    let event = classified(
        "sshd",
        "Failed none for invalid user a from b from 192.0.2.1 port 22 ssh2",
    );
    assert_eq!(event.user.as_deref(), Some("a from b"));
    assert_eq!(event.src_ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(event.attr("auth.method"), Some("none"));
}

#[test]
fn sshd_max_attempts_exceeded_is_a_failed_logon() {
    let event = classified(
        "sshd",
        "error: maximum authentication attempts exceeded for invalid user pi from 1.2.3.4 port 40000 ssh2 [preauth]",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.user.as_deref(), Some("pi"));
    assert_eq!(event.attr("auth.invalid_user"), Some("true"));
    assert_eq!(event.attr("ssh.protocol"), Some("ssh2"));
    assert_eq!(event.attr("ssh.key"), None);
}

#[test]
fn sshd_disconnects_after_authentication_are_logoffs() {
    let event = classified("sshd", "Disconnected from user alice 10.0.0.1 port 50022");
    assert_eq!(
        summary(&event),
        (
            Class::Authentication,
            Some("logoff"),
            Some(Outcome::Success)
        )
    );
    assert_eq!(event.user.as_deref(), Some("alice"));
    assert_eq!(event.src_port, Some(50022));
    let event = classified("sshd", "Disconnected from 85.245.107.41 port 54259");
    assert_eq!(event.activity.as_deref(), Some("logoff"));
    assert_eq!(event.src_ip.as_deref(), Some("85.245.107.41"));
}

#[test]
fn sshd_disconnects_before_authentication_are_failed_disconnects() {
    let disconnect = (
        Class::Authentication,
        Some("disconnect"),
        Some(Outcome::Failure),
    );
    let event = classified(
        "sshd",
        "Disconnected from authenticating user root 203.0.113.5 port 4242 [preauth]",
    );
    assert_eq!(summary(&event), disconnect);
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.src_ip.as_deref(), Some("203.0.113.5"));
    let event = classified(
        "sshd",
        "Connection closed by invalid user test 203.0.113.5 port 4243 [preauth]",
    );
    assert_eq!(summary(&event), disconnect);
    assert_eq!(event.attr("auth.invalid_user"), Some("true"));
    assert_eq!(event.user.as_deref(), Some("test"));
    let event = classified(
        "sshd",
        "Connection closed by authenticating user git 203.0.113.5 port 4244 [preauth]",
    );
    assert_eq!(summary(&event), disconnect);
}

#[test]
fn sshd_preauth_disconnect_without_user_only_fills_the_address() {
    let (recognised, event) = annotated(
        "sshd",
        "Connection closed by 183.62.140.253 port 36022 [preauth]",
    );
    assert!(!recognised);
    assert_eq!(event.class, Class::Other);
    assert_eq!(event.src_ip.as_deref(), Some("183.62.140.253"));
    assert_eq!(event.src_port, Some(36022));
    let (recognised, _) = annotated("sshd", "Disconnected from 1.2.3.4 port 22 [preauth]");
    assert!(!recognised);
}

#[test]
fn sshd_not_allowed_and_more_failures_are_failed_logons() {
    let event = classified(
        "sshd",
        "User root from 198.51.100.7 not allowed because not listed in AllowUsers",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.user.as_deref(), Some("root"));
    let event = classified(
        "sshd",
        "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=218.60.136.106  user=root",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.attr("pam.more_failures"), Some("5"));
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.src_ip.as_deref(), Some("218.60.136.106"));
    assert_eq!(event.attr("pam.logname"), None, "empty pairs are skipped");
    let event = classified(
        "sshd",
        "PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.1.1.1",
    );
    assert_eq!(event.attr("pam.more_failures"), Some("1"));
}

#[test]
fn sshd_unclassified_messages_fill_endpoints() {
    let (recognised, event) = annotated(
        "sshd",
        "Connection from 85.245.107.41 port 61663 on 10.77.20.248 port 222",
    );
    assert!(!recognised);
    assert_eq!(event.src_ip.as_deref(), Some("85.245.107.41"));
    assert_eq!(event.src_port, Some(61663));
    assert_eq!(event.dst_ip.as_deref(), Some("10.77.20.248"));
    assert_eq!(event.dst_port, Some(222));
    let (_, event) = annotated(
        "sshd",
        "Received disconnect from 116.31.116.41 port 41296:11:  [preauth]",
    );
    assert_eq!(event.src_ip.as_deref(), Some("116.31.116.41"));
    assert_eq!(event.src_port, Some(41296));
    let (_, event) = annotated(
        "sshd",
        "Did not receive identification string from 60.173.69.9",
    );
    assert_eq!(event.src_ip.as_deref(), Some("60.173.69.9"));
    let (_, event) = annotated(
        "sshd",
        "Bad protocol version identification 'GET / from x' from 186.219.213.14 port 59547",
    );
    assert_eq!(event.src_ip.as_deref(), Some("186.219.213.14"));
    let (_, event) = annotated("sshd", "Server listening on 0.0.0.0 port 22.");
    assert_eq!(event.src_ip, None);
}

#[test]
fn sshd_is_recognised_by_program_name() {
    let message = "Failed password for root from 1.2.3.4 port 22 ssh2";
    assert!(annotated("sshd-session", message).0);
    assert!(annotated("/usr/sbin/sshd", message).0);
    assert!(annotated("SSHD", message).0);
    let (recognised, event) = annotated("nginx", message);
    assert!(!recognised);
    assert_eq!(event, Event::new("test"));
}

#[test]
fn repeated_message_is_recognised_with_its_count() {
    let event = classified(
        "sshd",
        "message repeated 5 times: [ Failed password for root from 218.60.136.106 port 56338 ssh2]",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.attr("syslog.repeated"), Some("5"));
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.attr("ssh.protocol"), Some("ssh2"));
}

#[test]
fn pam_authentication_failure_keeps_every_pair() {
    let event = classified(
        "sshd",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=bad.example.net  user=root",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.src_ip, None, "a host name is not an address");
    assert_eq!(event.attr("pam.rhost"), Some("bad.example.net"));
    assert_eq!(event.attr("pam.module"), Some("pam_unix"));
    assert_eq!(event.attr("pam.service"), Some("sshd"));
    assert_eq!(event.attr("pam.type"), Some("auth"));
    assert_eq!(event.attr("pam.euid"), Some("0"));
    assert_eq!(event.attr("pam.tty"), Some("ssh"));
}

#[test]
fn pam_failures_of_sudo_and_su_are_failed_escalations() {
    let event = classified(
        "sudo",
        "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/1 ruser=alice rhost=  user=alice",
    );
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(event.user.as_deref(), Some("alice"));
    assert_eq!(event.attr("pam.ruser"), Some("alice"));
    let event = classified(
        "sudo",
        "pam_unix(sudo:auth): auth could not identify password for [bob]",
    );
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(event.user.as_deref(), Some("bob"));
    let event = classified(
        "login",
        "pam_unix(login:auth): auth could not identify password for [carol]",
    );
    assert_eq!(summary(&event), LOGON_FAILED);
}

#[test]
fn pam_sessions_open_and_close() {
    let event = classified(
        "sudo",
        "pam_unix(sudo:session): session opened for user root by ubuntu(uid=0)",
    );
    assert_eq!(
        summary(&event),
        (
            Class::Authentication,
            Some("session_open"),
            Some(Outcome::Success)
        )
    );
    assert_eq!(event.user.as_deref(), Some("root"));
    assert_eq!(event.attr("pam.by_user"), Some("ubuntu"));
    assert_eq!(event.attr("pam.by_uid"), Some("0"));
    let event = classified(
        "sshd",
        "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
    );
    assert_eq!(event.user.as_deref(), Some("alice"));
    assert_eq!(event.attr("pam.user_uid"), Some("1000"));
    assert_eq!(event.attr("pam.by_user"), None);
    let event = classified(
        "CRON",
        "pam_unix(cron:session): session closed for user root",
    );
    assert_eq!(event.activity.as_deref(), Some("session_close"));
    assert_eq!(event.user.as_deref(), Some("root"));
}

#[test]
fn pam_unknown_message_keeps_its_prefix_only() {
    let (recognised, event) = annotated("sshd", "pam_unix(sshd:auth): check pass; user unknown");
    assert!(!recognised);
    assert_eq!(event.user, None);
    assert_eq!(event.attr("pam.service"), Some("sshd"));
    let (recognised, _) = annotated("sshd", "pam_unix no parenthesis here");
    assert!(!recognised);
}

#[test]
fn sudo_command_is_a_successful_escalation_with_its_command_line() {
    let event = classified(
        "sudo",
        "  ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; GROUP=adm ; ENV=A=1 ; COMMAND=/bin/sh -c echo a ; echo b",
    );
    assert_eq!(summary(&event), ESCALATED);
    assert_eq!(event.user.as_deref(), Some("ubuntu"));
    assert_eq!(
        event.command_line.as_deref(),
        Some("/bin/sh -c echo a ; echo b")
    );
    assert_eq!(event.attr("sudo.tty"), Some("pts/0"));
    assert_eq!(event.attr("sudo.pwd"), Some("/home/ubuntu"));
    assert_eq!(event.attr("sudo.target_user"), Some("root"));
    assert_eq!(event.attr("sudo.target_group"), Some("adm"));
    assert_eq!(event.attr("sudo.env"), Some("A=1"));
    assert_eq!(event.attr("sudo.error"), None);
}

#[test]
fn sudo_refusals_are_failed_escalations() {
    let event = classified(
        "sudo",
        "alice : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
    );
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(
        event.attr("sudo.error"),
        Some("3 incorrect password attempts")
    );
    assert_eq!(event.command_line.as_deref(), Some("/usr/bin/id"));
    let event = classified(
        "sudo",
        "mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash",
    );
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(event.user.as_deref(), Some("mallory"));
    let event = classified(
        "sudo",
        "bob : TSID=000001 ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=list",
    );
    assert_eq!(event.attr("sudo.tsid"), Some("000001"));
}

#[test]
fn sudo_other_messages_are_not_classified() {
    assert!(!annotated("sudo", "unable to resolve host ip-10-0-0-1").0);
    assert!(!annotated("sudo", "alice : unable to resolve host x").0);
}

#[test]
fn su_shadow_and_util_linux_forms() {
    let event = classified("su", "Successful su for root by ubuntu");
    assert_eq!(summary(&event), ESCALATED);
    assert_eq!(event.user.as_deref(), Some("ubuntu"));
    assert_eq!(event.attr("su.target_user"), Some("root"));
    let event = classified("su", "FAILED su for root by mallory");
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(event.user.as_deref(), Some("mallory"));
    let event = classified("su", "(to root) alice on pts/0");
    assert_eq!(summary(&event), ESCALATED);
    assert_eq!(event.user.as_deref(), Some("alice"));
    assert_eq!(event.attr("su.tty"), Some("pts/0"));
    let event = classified("su", "FAILED SU (to root) eve on pts/3");
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(event.user.as_deref(), Some("eve"));
    let event = classified("su", "'su root' failed for lonvick on /dev/pts/8");
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert_eq!(event.user.as_deref(), Some("lonvick"));
    assert_eq!(event.attr("su.tty"), Some("/dev/pts/8"));
    let event = classified("su", "+ /dev/pts/0 ubuntu:root");
    assert_eq!(summary(&event), ESCALATED);
    assert_eq!(event.user.as_deref(), Some("ubuntu"));
    assert_eq!(event.attr("su.target_user"), Some("root"));
    let event = classified("su", "- /dev/pts/0 eve:root");
    assert_eq!(summary(&event), ESCALATION_FAILED);
    assert!(!annotated("su", "pam_systemd(su:session): Cannot create session").0);
}

#[test]
fn account_creation_and_deletion() {
    let event = classified(
        "useradd",
        "new user: name=eve, UID=1002, GID=1002, home=/home/eve, shell=/bin/bash, from=/dev/pts/0",
    );
    assert_eq!(
        summary(&event),
        (
            Class::AccountChange,
            Some("user_create"),
            Some(Outcome::Success)
        )
    );
    assert_eq!(event.user.as_deref(), Some("eve"));
    assert_eq!(event.attr("account.uid"), Some("1002"));
    assert_eq!(event.attr("account.shell"), Some("/bin/bash"));
    assert_eq!(event.attr("account.from"), Some("/dev/pts/0"));
    let event = classified("useradd", "failed adding user 'eve', data deleted");
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.user.as_deref(), Some("eve"));
    let event = classified("userdel", "delete user 'eve'");
    assert_eq!(event.activity.as_deref(), Some("user_delete"));
    let event = classified("userdel", "removed group 'eve' owned by 'eve'");
    assert_eq!(event.activity.as_deref(), Some("group_delete"));
    assert_eq!(event.resource.as_deref(), Some("eve"));
    let event = classified("groupdel", "group 'staff2' removed from /etc/group");
    assert_eq!(event.activity.as_deref(), Some("group_delete"));
    assert_eq!(event.attr("group.file"), Some("/etc/group"));
}

#[test]
fn group_creation_and_membership() {
    let event = classified("groupadd", "new group: name=devs, GID=1005");
    assert_eq!(event.activity.as_deref(), Some("group_create"));
    assert_eq!(event.resource.as_deref(), Some("devs"));
    assert_eq!(event.attr("group.gid"), Some("1005"));
    assert_eq!(event.user, None);
    let event = classified("groupadd", "group added to /etc/gshadow: name=devs");
    assert_eq!(event.attr("group.file"), Some("/etc/gshadow"));
    let event = classified("usermod", "add 'eve' to shadow group 'sudo'");
    assert_eq!(event.activity.as_deref(), Some("user_modify"));
    assert_eq!(event.user.as_deref(), Some("eve"));
    assert_eq!(event.attr("group.name"), Some("sudo"));
    let event = classified("userdel", "delete 'eve' from group 'sudo'");
    assert_eq!(event.activity.as_deref(), Some("user_modify"));
    let event = classified(
        "usermod",
        "change user 'eve' shell from '/bin/sh' to '/bin/bash'",
    );
    assert_eq!(event.user.as_deref(), Some("eve"));
    let event = classified("usermod", "lock user 'eve' password");
    assert_eq!(event.activity.as_deref(), Some("user_modify"));
    let event = classified("chage", "changed password expiry for eve");
    assert_eq!(event.user.as_deref(), Some("eve"));
}

#[test]
fn password_changes() {
    let event = classified(
        "chpasswd",
        "pam_unix(chpasswd:chauthtok): password changed for elastic_user_0",
    );
    assert_eq!(
        summary(&event),
        (
            Class::AccountChange,
            Some("password_change"),
            Some(Outcome::Success)
        )
    );
    assert_eq!(event.user.as_deref(), Some("elastic_user_0"));
    let event = classified(
        "chpasswd",
        "pam_unix(chpasswd:chauthtok): user \"ghost\" does not exist in /etc/passwd",
    );
    assert_eq!(event.outcome, Some(Outcome::Failure));
    assert_eq!(event.user.as_deref(), Some("ghost"));
    let event = classified("passwd", "password for 'eve' changed by 'root'");
    assert_eq!(event.user.as_deref(), Some("eve"));
    assert_eq!(event.attr("account.changed_by"), Some("root"));
}

#[test]
fn logind_sessions_fill_session_id() {
    let (recognised, event) = annotated("systemd-logind", "New session 12 of user ubuntu.");
    assert!(!recognised);
    assert_eq!(event.session_id.as_deref(), Some("12"));
    assert_eq!(event.user.as_deref(), Some("ubuntu"));
    let (_, event) = annotated("systemd-logind", "Removed session 12.");
    assert_eq!(event.session_id.as_deref(), Some("12"));
}

#[test]
fn address_check_agrees_with_the_standard_parser() {
    for text in [
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.5",
        "1..3.4",
        ".1.2.3",
        "1.2.3.",
        "1234.1.1.1",
        "00.1.1.1",
        "10.0.0.10",
        "",
        "::1",
        "2001:db8::7",
        "::ffff:1.2.3.4",
        "fe80::1%eth0",
        "host.example.com",
        "1.2.3.4 ",
    ] {
        assert_eq!(
            is_ip_address(text),
            text.parse::<IpAddr>().is_ok(),
            "{text:?}"
        );
    }
}

#[test]
fn substring_search_finds_the_first_and_last_match() {
    assert_eq!(find("a from b from c", " from "), Some(1));
    assert_eq!(rfind("a from b from c", " from "), Some(8));
    assert_eq!(find(" from", " from "), None);
    assert_eq!(rfind("from ", " from "), None);
    assert_eq!(find("x;y", ";"), Some(1));
    assert_eq!(rfind(";x;", ";"), Some(2));
}

proptest::proptest! {
    #[test]
    fn address_check_agrees_on_arbitrary_text(text in "[0-9.:a-f%]{0,20}") {
        proptest::prop_assert_eq!(is_ip_address(&text), text.parse::<IpAddr>().is_ok());
    }

    #[test]
    fn search_and_trim_agree_with_str(
        haystack in "[ a-z;:.\\t\u{a0}é]{0,40}",
        needle in "( from | ; | : |;| |: )",
    ) {
        proptest::prop_assert_eq!(find(&haystack, &needle), haystack.find(needle.as_str()));
        proptest::prop_assert_eq!(rfind(&haystack, &needle), haystack.rfind(needle.as_str()));
        proptest::prop_assert_eq!(trim(&haystack), haystack.trim());
    }

    #[test]
    fn never_panics(
        process in "(sshd|sudo|su|useradd|passwd|systemd-logind|x)",
        message in "(pam_|message repeated 2 times: \\[|Failed |Accepted |Disconnected from |[+-] )?.{0,96}",
    ) {
        let mut event = Event::new("test");
        let _ = annotate(&process, &message, &mut event);
    }
}
