//! Where a config may be written (issue 14, F3): checks made before the temporary file
//! is created, so a write goes only where its user meant it to.
//!
//! The attack: in a directory others can write (`/tmp`, a shared folder), another user
//! plants `mondoo.yml -> /root/victim`; `login` as root would replace the victim. So:
//! - a symbolic link at the config's path is followed only when the link and the file it
//!   names belong to the writing user or root (as sshd's StrictModes trusts them);
//! - the directory the file is replaced in must not be writable by anyone else: not
//!   group- or world-writable and owned by the writer or root, unless it is sticky and
//!   owned by the writer (then others cannot remove or rename the writer's files);
//! - the temporary file is created with `O_EXCL | O_NOFOLLOW`, and the rename replaces
//!   whatever is at the final name without following it.
//!
//! Who the writer is and who owns a file go through [`Identity`], the seam the tests
//! use to play another user while running as root.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Code, Error, Result};

/// The user a write is made for: the effective uid, or another one in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    pub uid: u32,
}

impl Identity {
    pub fn current() -> Identity {
        // SAFETY: geteuid has no preconditions and cannot fail.
        Identity { uid: unsafe { libc::geteuid() } }
    }

    /// Whether files owned by `owner` are this writer's own (or root's, trusted by all).
    fn trusts(self, owner: u32) -> bool {
        owner == self.uid || owner == 0
    }
}

fn refuse(path: &Path, why: String) -> Error {
    Error::new(Code::ConfigNotWritable, format!("refusing to write config {}: {why}", path.display())).with_path(path)
}

/// The final component of `path`: a symbolic link is followed only when it and its
/// target belong to the writer or root. A link whose target does not exist yet is
/// judged by the link alone (the target's directory is checked like any other).
pub(crate) fn check_link(path: &Path, who: Identity) -> Result<()> {
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => m,
        _ => return Ok(()),
    };
    let rule = format!("a link is followed only when it and its target belong to you (uid {}) or root", who.uid);
    if !who.trusts(link.uid()) {
        return Err(refuse(path, format!("it is a symbolic link owned by uid {}; {rule}", link.uid())));
    }
    match std::fs::metadata(path) {
        Ok(target) if !who.trusts(target.uid()) => {
            let shown = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_default();
            Err(refuse(
                path,
                format!("it is a symbolic link to {shown}, which is owned by uid {}; {rule}", target.uid()),
            ))
        }
        _ => Ok(()),
    }
}

/// The directory the config is replaced in: nobody but the writer (or root) may be able
/// to write it, unless it is sticky and the writer's own. A symbolic link standing for
/// the directory must itself be the writer's or root's.
pub(crate) fn check_directory(path: &Path, dir: &Path, who: Identity) -> Result<()> {
    if let Ok(link) = std::fs::symlink_metadata(dir) {
        if link.file_type().is_symlink() && !who.trusts(link.uid()) {
            return Err(refuse(
                path,
                format!("its directory {} is a symbolic link owned by uid {}", dir.display(), link.uid()),
            ));
        }
    }
    let meta = std::fs::metadata(dir)
        .map_err(|e| refuse(path, format!("cannot inspect its directory {}: {e}", dir.display())))?;
    let mode = meta.mode() & 0o7777;
    let sticky_and_own = mode & 0o1000 != 0 && meta.uid() == who.uid;
    let problem = if !who.trusts(meta.uid()) {
        Some(format!("owned by uid {}", meta.uid()))
    } else if mode & 0o002 != 0 {
        Some("writable by every user".to_string())
    } else if mode & 0o020 != 0 {
        Some("writable by its group".to_string())
    } else {
        None
    };
    match problem {
        Some(problem) if !sticky_and_own => Err(refuse(
            path,
            format!(
                "its directory {} is {problem} (mode {mode:04o}), so another user could replace the file; \
                 use a directory only you (uid {}) or root can write, or a sticky one you own",
                dir.display(),
                who.uid
            ),
        )),
        _ => Ok(()),
    }
}

/// Open options for the temporary file: created new (`O_EXCL`: never an existing file
/// or a planted link), not following a link (`O_NOFOLLOW`), mode 0600.
pub(crate) fn exclusive_create() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW);
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const OTHER: u32 = 4242;

    fn chmod(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn lchown(path: &Path, uid: u32) {
        std::os::unix::fs::lchown(path, Some(uid), None).unwrap();
    }

    fn as_root() -> bool {
        Identity::current().uid == 0
    }

    #[test]
    fn links_are_followed_only_when_link_and_target_are_trusted() {
        assert!(as_root(), "these tests give files to other users: run them as root (CI does)");
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.yml");
        let link = dir.path().join("mondoo.yml");
        std::fs::write(&target, "a: 1\n").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let root = Identity { uid: 0 };
        let user = Identity { uid: 1000 };

        // root's link to root's file: fine for root and for any user
        check_link(&link, root).unwrap();
        check_link(&link, user).unwrap();

        // another user's link: refused, naming the owner and the rule
        lchown(&link, OTHER);
        let e = check_link(&link, root).unwrap_err();
        assert_eq!(e.code(), Code::ConfigNotWritable);
        assert!(e.message().contains("symbolic link owned by uid 4242"), "{e}");
        assert!(e.message().contains("belong to you (uid 0) or root"), "{e}");
        assert_eq!(e.path(), Some(link.as_path()));
        // ... unless the writer is that user and the target is root's
        check_link(&link, Identity { uid: OTHER }).unwrap();

        // a trusted link to another user's file: refused too
        lchown(&link, 0);
        std::os::unix::fs::lchown(&target, Some(OTHER), None).unwrap();
        let e = check_link(&link, user).unwrap_err();
        assert!(e.message().contains("which is owned by uid 4242"), "{e}");
        check_link(&link, Identity { uid: OTHER }).unwrap();

        // a dangling link is judged by the link
        std::fs::remove_file(&target).unwrap();
        check_link(&link, user).unwrap();
        lchown(&link, OTHER);
        assert!(check_link(&link, user).is_err());
        // a plain file or nothing at all: nothing to check
        check_link(&dir.path().join("absent.yml"), user).unwrap();
    }

    #[test]
    fn directories_others_can_write_are_refused_unless_sticky_and_own() {
        assert!(as_root(), "these tests give files to other users: run them as root (CI does)");
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("mondoo.yml");
        let root = Identity { uid: 0 };
        let user = Identity { uid: 1000 };

        for (mode, owner, who, allowed) in [
            (0o700, 0, root, true),
            (0o755, 0, user, true),       // root's directory: trusted by everyone
            (0o755, 1000, user, true),    // the writer's own
            (0o755, OTHER, user, false),  // another user's
            (0o755, OTHER, root, false),  // another user's, even for root
            (0o777, 1000, user, false),   // world-writable
            (0o775, 1000, user, false),   // group-writable
            (0o1777, 1000, user, true),   // sticky and the writer's own
            (0o1777, 0, root, true),      // /tmp for root
            (0o1777, 0, user, false),     // /tmp for a user: not the user's own
            (0o1777, OTHER, user, false), // sticky but another user's
        ] {
            std::os::unix::fs::chown(&dir, Some(owner), None).unwrap();
            chmod(&dir, mode);
            let result = check_directory(&file, &dir, who);
            assert_eq!(result.is_ok(), allowed, "mode {mode:o} owner {owner} writer {}: {result:?}", who.uid);
            if let Err(e) = result {
                assert_eq!(e.code(), Code::ConfigNotWritable);
                assert!(e.message().contains("another user could replace the file"), "{e}");
                assert!(e.message().contains(&format!("mode {mode:04o}")), "{e}");
            }
        }

        // a directory given through another user's link
        chmod(&dir, 0o700);
        std::os::unix::fs::chown(&dir, Some(0), None).unwrap();
        let via = base.path().join("via");
        std::os::unix::fs::symlink(&dir, &via).unwrap();
        check_directory(&via.join("mondoo.yml"), &via, root).unwrap();
        lchown(&via, OTHER);
        let e = check_directory(&via.join("mondoo.yml"), &via, root).unwrap_err();
        assert!(e.message().contains("is a symbolic link owned by uid 4242"), "{e}");
    }

    #[test]
    fn the_temporary_file_is_never_an_existing_file_or_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let planted = dir.path().join(".mondoo.yml.tmp-planted");
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let e = exclusive_create().open(&planted).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(exclusive_create().open(&victim).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        let fresh = dir.path().join("fresh");
        exclusive_create().open(&fresh).unwrap();
        assert_eq!(std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
