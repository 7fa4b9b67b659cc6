/**
 * The filter table of a family that the network's first apply brought into being, and its removal
 * on delete. With iptables-nft, `ip6tables-restore` of the network's IPv6 chains creates the
 * nftables table `ip6 filter` (with its three built-in chains) on a host that had none, e.g. a
 * Docker host without IPv6; removing the chains leaves that table behind, so a destroy would not
 * leave the host as it was. So the apply notes, in the state folder, each family whose filter
 * table did not exist before it (`<table>-n<netns inode>.made-<family>-filter`: a stem of its own,
 * apart from the timer's `<table>.n<inode>.*` files, as it outlives every apply), and delete removes that table
 * again, but only while it holds nothing but the empty built-in chains with policy accept, and
 * only on iptables-nft (a legacy table is a kernel module's and stays).
 */
import type { Family } from './iptables-rollback';
import { TablePlace, placeScript } from './table-place';

/** Shell lines of the read: `v4 filter`, `v6 nat`, … for each table that exists. */
export const TABLES_READ_SCRIPT = [
  'echo @@tables',
  "{ iptables-save 2>/dev/null | sed -n 's/^\\*/v4 /p'; ip6tables-save 2>/dev/null | sed -n 's/^\\*/v6 /p'; } || true",
].join('\n');

/** Families whose filter table exists, from the read's `@@tables` lines. */
export function filterTablesOf(lines: readonly string[]): Family[] {
  return (['v4', 'v6'] as const).filter((f) => lines.includes(`${f} filter`));
}

/** The note's path, in shell (after placeScript, which sets $state_dir and $ns). */
const noteOf = (place: TablePlace, family: Family) => `"$state_dir"/${place.table}-n"$ns".made-${family}-filter`;

const NFT_FAMILY: Record<Family, { nft: string; save: string }> = {
  v4: { nft: 'ip', save: 'iptables' },
  v6: { nft: 'ip6', save: 'ip6tables' },
};

/** Shell lines (after the apply's live steps) noting the families whose filter table the apply made. */
export function noteMadeFilterTablesScript(place: TablePlace, made: readonly Family[]): string {
  if (made.length === 0) return 'true';
  return [placeScript(place), ...made.map((f) => `: > ${noteOf(place, f)}`)].join('\n');
}

/**
 * Shell lines (after delete removed the network's chains) that remove each noted filter table
 * still empty, and the notes. An empty table: its listing has no line but the table, the three
 * built-in chains with policy accept and closing braces.
 */
export function removeMadeFilterTablesScript(place: TablePlace): string {
  const lines = [placeScript(place)];
  for (const f of ['v4', 'v6'] as const) {
    const { nft, save } = NFT_FAMILY[f];
    const note = noteOf(place, f);
    lines.push(
      `if [ -e ${note} ]; then`,
      `  if ${save} -V 2>/dev/null | grep -q nf_tables && command -v nft >/dev/null 2>&1; then`,
      `    if listing=$(nft list table ${nft} filter 2>/dev/null); then`,
      `      other=$(printf '%s\\n' "$listing" | grep -c -v -E '^[[:space:]]*(table ${nft} filter [{]|chain (INPUT|FORWARD|OUTPUT) [{]|type filter hook (input|forward|output) priority filter; policy accept;|[}]|)$') || true`,
      `      if [ "$other" = 0 ]; then nft delete table ${nft} filter; fi`,
      '    fi',
      '  fi',
      `  rm -f ${note}`,
      'fi',
    );
  }
  return lines.join('\n');
}
