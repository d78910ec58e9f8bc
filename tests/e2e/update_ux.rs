//! The self-update as an admin meets it on the Diagnostics page of a real `dockd`: the Software
//! update section, "Check now" against a release server that cannot be reached, the updater's
//! refusal shown as its sentence, and the press recorded in the audit trail. It must never need
//! a release server (the refusal is the point) nor reach into the daemon's memory.

use crate::support::{Dock, TEST_USER, form_on};

/// A release server nobody listens on: port 1 on loopback refuses at once.
const UNREACHABLE: &str = "https://127.0.0.1:1/releases/manifest.json";

/// The Software update section of the Diagnostics page as the signed-in admin sees it.
fn update_section(dock: &Dock) -> String {
    let page = dock.get("/diagnostics");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let start = page
        .find("id=\"dg-update\"")
        .expect("a Software update section");
    let end = page[start..].find("</section>").expect("the section's end");
    page[start..start + end].to_owned()
}

#[test]
fn an_admin_presses_check_now_and_sees_the_refusal_on_the_page_and_in_the_audit_trail() {
    let dock = Dock::start_with_tables(
        "update-ux-check",
        &format!("[update]\nmanifest_url = \"{UNREACHABLE}\"\n"),
    );
    let section = update_section(&dock);
    assert!(section.contains(UNREACHABLE), "{section}");
    assert!(
        section.contains("<dt>Last check</dt><dd>not since the dock started</dd>"),
        "{section}"
    );
    assert!(section.contains(">Install now</button>"), "{section}");
    let (check, csrf) = form_on(&section, "/update/check").expect("a Check now form");

    let answer = dock.post_form(&check, &format!("csrf={csrf}"));
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("location: /diagnostics#dg-update"),
        "{answer}"
    );

    // The page says what the updater said, once, marked as a refusal, and the check is a fact.
    let section = update_section(&dock);
    let notice = section
        .split("data-kind=\"problem\">Refused: ")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or_else(|| panic!("the refusal on the page: {section}"));
    assert!(
        notice.contains("the release server cannot be reached at https://127.0.0.1:1/"),
        "{notice}"
    );
    assert!(
        section.contains("<dt>Last check</dt><dd><time"),
        "{section}"
    );
    assert!(
        section.contains("data-kind=\"rejected\""),
        "an event: {section}"
    );
    assert!(
        !update_section(&dock).contains("data-kind=\"problem\">Refused"),
        "the notice is shown once"
    );

    // The press is in the audit trail under the admin's name, with the updater's answer (the
    // audit queue writes it a moment after the answer).
    crate::support::wait_for(
        "the press in the audit trail",
        std::time::Duration::from_secs(10),
        || {
            (dock.count(&format!(
                "SELECT COUNT(*) FROM audit WHERE user = '{TEST_USER}' AND action = 'update check' \
             AND subject LIKE 'refused: the release server cannot be reached%'"
            )) == 1)
                .then_some(())
        },
    );
    let trail = dock.get("/audit");
    assert!(trail.starts_with("HTTP/1.1 200"), "{trail}");
    assert!(trail.contains("update check"), "{trail}");
    assert!(
        trail.contains("refused: the release server cannot be reached"),
        "{trail}"
    );
}

#[test]
fn an_admin_presses_install_now_and_the_dock_restarts_into_the_signed_release_and_keeps_it() {
    use std::time::Duration;

    use receivers::releases::{ReleaseKit, ReleaseServer};

    use crate::support::{TestDir, wait_for};
    use crate::update::{release_binary, running_version, state};

    let dir = TestDir::new("update-ux-install-server");
    std::fs::create_dir_all(dir.join("ca")).unwrap();
    let server = ReleaseServer::start_blocking(&dir.join("served"), &dir.join("ca")).unwrap();
    ReleaseKit::new(&release_binary("0.1.1"), "0.1.1")
        .build(&dir.join("served"))
        .unwrap();
    let dock = Dock::start_with_tables(
        "update-ux-install",
        &format!(
            "[update]\nmanifest_url = \"{}\"\nca_file = {:?}\n",
            server.manifest_url(),
            server.ca.ca_pem_path
        ),
    );
    let section = update_section(&dock);
    let (install, csrf) = form_on(&section, "/update/install").expect("an Install now form");
    let answer = dock.post_form(&install, &format!("csrf={csrf}&confirm=yes"));
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    wait_for(
        "the new version to be confirmed",
        Duration::from_secs(90),
        || (state(&dock).current.as_deref() == Some("0.1.1")).then_some(()),
    );
    assert_eq!(running_version(&dock), "0.1.1");
    // The press, under the admin's name, recorded before the dock restarted; the install itself
    // by the updater, naming who asked.
    let pressed = dock.count(&format!(
        "SELECT COUNT(*) FROM audit WHERE user = '{TEST_USER}' AND action = 'update install'"
    ));
    assert_eq!(pressed, 1);
    wait_for(
        "the install in the audit trail",
        Duration::from_secs(20),
        || {
            (dock.count(&format!(
                "SELECT COUNT(*) FROM audit WHERE action = 'update installed' \
             AND subject LIKE '0.1.1:%asked by {TEST_USER}%'"
            )) == 1)
                .then_some(())
        },
    );
}
