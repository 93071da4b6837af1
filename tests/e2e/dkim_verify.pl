#!/usr/bin/perl
# Verify every DKIM signature of .eml files with Mail::DKIM, keys served from
# the command line instead of DNS (Mail::DKIM::DNS::query is replaced).
#   dkim_verify.pl NAME=TXT [NAME=TXT ...] -- FILE...
# Prints "ok FILE: ..." or "FAIL FILE: ..."; exit 1 on any failure.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Net::DNS;

my %keys;
while (@ARGV && $ARGV[0] ne '--') {
	my ($n, $t) = split(/=/, shift(@ARGV), 2);
	$keys{lc $n} = $t;
}
shift @ARGV;
{
	no warnings 'redefine';
	*Mail::DKIM::DNS::query = sub {
		my ($name, $type) = @_;
		my $t = $keys{lc $name};
		if (!defined $t || uc $type ne 'TXT') { $@ = 'NXDOMAIN'; return; }
		my @chunks = unpack('(A255)*', $t);
		return (Net::DNS::RR->new(name => $name, type => 'TXT', txtdata => [@chunks]));
	};
}
my $bad = 0;
for my $f (@ARGV) {
	open(my $fh, '<', $f) or die "$f: $!";
	my $v = Mail::DKIM::Verifier->new();
	while (<$fh>) { s/\r?\n\z/\r\n/; $v->PRINT($_); }
	$v->CLOSE();
	my @sigs = $v->signatures;
	my @desc = map { sprintf('d=%s s=%s a=%s %s', $_->domain, $_->selector, $_->algorithm, $_->result_detail) } @sigs;
	# Debian 12's Mail::DKIM (1.20230212) predates its Ed25519 support: it
	# reports such signatures as unsupported. Those are skipped (and said so);
	# every other signature must pass, and at least one must be checked.
	my @checked = grep { !($_->algorithm =~ /ed25519/ && $_->result_detail =~ /unsupported|algorithm/i) } @sigs;
	my $allpass = @checked && !grep { $_->result ne 'pass' } @checked;
	if ($allpass) { print "ok $f: ", scalar(@sigs), " signatures (", join('; ', @desc), ")\n"; }
	else { print "FAIL $f: ", (@sigs ? join('; ', @desc) : 'no signature'), "\n"; $bad++; }
}
exit($bad ? 1 : 0);
