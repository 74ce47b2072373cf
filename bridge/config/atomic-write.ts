// Moved to common/atomic-write.ts (the relay writes its backups with it too); re-exported for
// importers not yet updated.
export { writeFileAtomic } from '../../common/atomic-write.ts';
