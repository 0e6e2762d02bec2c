//! The inode table of a mounted image: the squashed [`Tree`] numbered and linked into
//! directories, built once. Pure: no FUSE and no I/O here.

use crate::source::layers::{Node, Tree};

/// The root directory's inode number (FUSE's fixed `FUSE_ROOT_ID`).
pub const ROOT: u64 = 1;

/// One inode: a node of the tree with its place in it.
#[derive(Debug, Clone)]
pub struct Inode {
    /// The parent directory's inode (the root's is itself).
    pub parent: u64,
    /// Its name in the parent (empty for the root).
    pub name: Vec<u8>,
    /// What the image records for it.
    pub node: Node,
}

/// Every inode of an image, and each directory's children sorted by name.
#[derive(Debug, Clone)]
pub struct View {
    inodes: Vec<Inode>,
    children: Vec<Vec<(Vec<u8>, u64)>>,
}

impl View {
    /// Numbers the tree's nodes: the root is [`ROOT`], the others follow in path order.
    pub fn new(tree: &Tree) -> View {
        let root = tree
            .lookup(b"")
            .unwrap_or_else(|| unreachable!("the root always exists"));
        let mut inodes = vec![Inode {
            parent: ROOT,
            name: Vec::new(),
            node: root,
        }];
        let mut by_path: std::collections::HashMap<&[u8], u64> = std::collections::HashMap::new();
        by_path.insert(b"", ROOT);
        let mut children: Vec<Vec<(Vec<u8>, u64)>> = vec![Vec::new()];
        for (path, node) in tree.nodes() {
            let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => (&path[..0], path),
            };
            // Parents sort before their children, so the parent is always numbered already.
            let Some(&parent) = by_path.get(dir) else {
                continue;
            };
            let ino = inodes.len() as u64 + 1;
            by_path.insert(path, ino);
            inodes.push(Inode {
                parent,
                name: name.to_vec(),
                node: node.clone(),
            });
            children.push(Vec::new());
            children[(parent - 1) as usize].push((name.to_vec(), ino));
        }
        for list in &mut children {
            list.sort();
        }
        View { inodes, children }
    }

    /// The inode numbered `ino`.
    pub fn get(&self, ino: u64) -> Option<&Inode> {
        self.inodes.get(ino.checked_sub(1)? as usize)
    }

    /// The child called `name` of directory `parent`.
    pub fn lookup(&self, parent: u64, name: &[u8]) -> Option<u64> {
        let list = self.children.get(parent.checked_sub(1)? as usize)?;
        list.binary_search_by(|(n, _)| n.as_slice().cmp(name))
            .ok()
            .map(|i| list[i].1)
    }

    /// The children of directory `ino`, sorted by name (empty for a non-directory).
    pub fn children(&self, ino: u64) -> &[(Vec<u8>, u64)] {
        ino.checked_sub(1)
            .and_then(|i| self.children.get(i as usize))
            .map_or(&[], Vec::as_slice)
    }

    /// How many inodes there are.
    pub fn len(&self) -> usize {
        self.inodes.len()
    }

    /// Whether there is only the root.
    pub fn is_empty(&self) -> bool {
        self.inodes.len() <= 1
    }

    /// The sum of the regular files' sizes.
    pub fn bytes(&self) -> u64 {
        self.inodes.iter().map(|i| i.node.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::layers::{LayerIndex, Limits, squash};

    #[test]
    fn directories_link_their_children_by_name() {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("etc/ssl/a.pem", &b"x"[..]),
            ("etc/b", b"yy"),
            ("usr/c", b""),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, data).unwrap();
        }
        let tar = builder.into_inner().unwrap();
        let index = LayerIndex::build(0, tar.as_slice(), &Limits::default()).unwrap();
        let view = View::new(&squash(&[index]));
        // The root, etc, etc/b, etc/ssl, etc/ssl/a.pem, usr, usr/c.
        assert_eq!(view.len(), 7);
        let etc = view.lookup(ROOT, b"etc").unwrap();
        let ssl = view.lookup(etc, b"ssl").unwrap();
        let pem = view.lookup(ssl, b"a.pem").unwrap();
        assert_eq!(view.get(pem).unwrap().node.size, 1);
        assert_eq!(view.get(pem).unwrap().parent, ssl);
        let names: Vec<&[u8]> = view
            .children(etc)
            .iter()
            .map(|(n, _)| n.as_slice())
            .collect();
        assert_eq!(names, [&b"b"[..], b"ssl"]);
        assert!(view.lookup(etc, b"nope").is_none());
        assert!(view.get(0).is_none() && view.get(999).is_none());
        assert!(view.children(pem).is_empty());
    }
}
