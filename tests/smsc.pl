#!/usr/bin/perl
# The SMSC the SMS tests and `make bench` send to: Net::SMPP (Debian's libnet-smpp-perl) in its SMSC
# role, on loopback. Its PDU codec is Net::SMPP's, not ours: what our client gets wrong, it decodes wrong.
#
#   smsc.pl PORT DIR [throttle_every=N] [fail_to=REGEX] [undeliv_to=REGEX] [drop_to=REGEX]
#           [receipt_delay=SECONDS]
# (drop_to: a submit to such a number is taken, and the connection closed before it is answered)
#
# DIR/submits.jsonl  one JSON line per submit_sm: to, from, data_coding, esm_class, udh (hex), text,
#                    status (0 accepted, 0x58 throttled, 0x0B refused), message_id
# DIR/receipts.jsonl one JSON line per delivery receipt sent: id, stat, at (Unix time, fractional)
# DIR/refuse-bind    while it exists, binds are answered ESME_RBINDFAIL
# DIR/mo/*.json      {"from", "to", "text", "parts"}: sent as a deliver_sm (in `parts` parts with a UDH),
#                    then removed
# DIR/receipts/      delivery receipts waiting for a bound client; kept until it answers deliver_sm_resp,
#                    so a client that dies before answering gets them on its next bind, as from a real SMSC
use strict;
use warnings;
use Net::SMPP;
use IO::Select;
use JSON::PP;
use Encode qw(decode encode);
use POSIX qw(strftime :sys_wait_h);
use Time::HiRes qw(time sleep);

my ($port, $dir, @opts) = @ARGV;
my %opt = map { split /=/, $_, 2 } @opts;
my $throttle_every = $opt{throttle_every} || 0;
my $fail_to = $opt{fail_to};
my $undeliv_to = $opt{undeliv_to};
my $drop_to = $opt{drop_to};
my $receipt_delay = $opt{receipt_delay} // 0.05;
mkdir "$dir/mo"; mkdir "$dir/receipts";
my $json = JSON::PP->new->canonical;

my %kids;  # one per connection: they go when the SMSC is stopped
$SIG{CHLD} = sub { while ((my $pid = waitpid(-1, WNOHANG)) > 0) { delete $kids{$pid} } };
$SIG{TERM} = sub { kill 'TERM', keys %kids; exit 0 };
my $listener = Net::SMPP->new_listen('127.0.0.1', port => $port, smpp_version => 0x34)
    or die "smsc: cannot listen on $port: $!";
$| = 1;
print "smsc listening on $port\n";
while (1) {
    my $conn = $listener->accept or next;
    my $pid = fork;
    if (!defined $pid) { warn "smsc: fork: $!"; next; }
    if ($pid == 0) { $SIG{TERM} = 'DEFAULT'; serve($conn); exit 0; }
    $kids{$pid} = 1;
    $conn->close;
}

sub record {
    my ($row) = @_;
    open my $fh, '>>', "$dir/submits.jsonl" or die $!;
    print $fh $json->encode($row), "\n";
    close $fh;
}

sub serve {
    my ($smpp) = @_;
    my $sel = IO::Select->new($smpp);
    my ($bound, $count, %unacked, @due) = (0, 0);
    my $next_id = 0;
    while (1) {
        if ($bound) {
            my $now = time;
            while (@due && $due[0][0] <= $now) { spool((shift @due)->[1]) }
            for my $file (glob "$dir/receipts/*.json") { send_spooled($smpp, $file, \%unacked) }
            for my $file (glob "$dir/mo/*.json") { send_mo($smpp, $file) }
        }
        next unless $sel->can_read(0.02);
        my $pdu = $smpp->read_pdu;
        if (!$pdu) {  # the client went: its unanswered receipts wait for the next bind
            leave(\%unacked, \@due);
            return;
        }
        my $cmd = $pdu->{cmd};
        if ($cmd == 0x00000009) {  # bind_transceiver
            if (-e "$dir/refuse-bind") {
                $smpp->bind_transceiver_resp(seq => $pdu->{seq}, status => 0x0D, system_id => 'smsc');
                return;
            }
            $smpp->bind_transceiver_resp(seq => $pdu->{seq}, system_id => 'smsc');
            $bound = 1;
            print "bound $pdu->{system_id}\n";
        } elsif ($cmd == 0x00000004 && defined $drop_to && $pdu->{destination_addr} =~ /$drop_to/) {
            # Got it, and the line dropped before the answer: the client cannot know it went.
            record({to => $pdu->{destination_addr}, text => $pdu->{short_message}, status => 0, message_id => ''});
            leave(\%unacked, \@due);
            return;
        } elsif ($cmd == 0x00000004) {  # submit_sm
            my $status = 0;
            $count++;
            if ($throttle_every && $count % $throttle_every == 0) { $status = 0x58 }
            elsif (defined $fail_to && $pdu->{destination_addr} =~ /$fail_to/) { $status = 0x0B }
            my $id = $status ? '' : sprintf('%x%05d', $$, ++$next_id);
            $smpp->submit_sm_resp(seq => $pdu->{seq}, status => $status, message_id => $id);
            my $sm = $pdu->{short_message};
            my $udh = '';
            if ($pdu->{esm_class} & 0x40) { my $l = ord($sm); $udh = unpack('H*', substr($sm, 0, $l + 1)); $sm = substr($sm, $l + 1) }
            my $text = $pdu->{data_coding} == 8 ? decode('UTF-16BE', $sm) : decode('latin1', $sm);
            record({to => $pdu->{destination_addr}, from => $pdu->{source_addr}, data_coding => $pdu->{data_coding},
                    esm_class => $pdu->{esm_class}, udh => $udh, text => $text, status => $status, message_id => $id,
                    registered_delivery => $pdu->{registered_delivery}});
            if (!$status && $pdu->{registered_delivery}) {
                my $stat = defined $undeliv_to && $pdu->{destination_addr} =~ /$undeliv_to/ ? 'UNDELIV' : 'DELIVRD';
                push @due, [time + $receipt_delay, {id => $id, to => $pdu->{destination_addr},
                                                    from => $pdu->{source_addr}, stat => $stat}];
            }
        } elsif ($cmd == 0x00000015) {
            $smpp->enquire_link_resp(seq => $pdu->{seq});
            print "enquire_link\n";
        } elsif ($cmd == 0x00000006) {
            $smpp->unbind_resp(seq => $pdu->{seq});
            leave(\%unacked, \@due);
            return;
        } elsif ($cmd == 0x80000005) {  # deliver_sm_resp
            my $file = delete $unacked{$pdu->{seq}};
            if (defined $file) { $pdu->{status} ? rename($file, $file =~ s/\.sent-\d+$//r) : unlink($file) }
        } elsif (!($cmd & 0x80000000)) {
            $smpp->generic_nack(seq => $pdu->{seq}, status => 0x03);
        }
    }
}

sub leave {
    my ($unacked, $due) = @_;
    rename $unacked->{$_}, $unacked->{$_} =~ s/\.sent-\d+$//r for keys %$unacked;
    spool($_->[1]) for @$due;
}

sub spool {
    my ($r) = @_;
    my $name = "$dir/receipts/$r->{id}";
    open my $fh, '>', "$name.tmp" or die $!;
    print $fh $json->encode($r);
    close $fh;
    rename "$name.tmp", "$name.json";
}

sub send_spooled {
    my ($smpp, $file, $unacked) = @_;
    my $taken = "$file.sent-$$";
    rename $file, $taken or return;  # another connection took it
    open my $fh, '<', $taken or return;
    my $r = $json->decode(do { local $/; <$fh> });
    close $fh;
    my $date = strftime('%y%m%d%H%M', localtime);
    my $text = "id:$r->{id} sub:001 dlvrd:" . ($r->{stat} eq 'DELIVRD' ? '001' : '000')
        . " submit date:$date done date:$date stat:$r->{stat} err:000 text:";
    my $seq = $smpp->deliver_sm(async => 1, source_addr_ton => 1, source_addr_npi => 1, source_addr => $r->{to},
                                dest_addr_ton => 0, dest_addr_npi => 0, destination_addr => $r->{from},
                                esm_class => 0x04, short_message => $text,
                                receipted_message_id => "$r->{id}\0",
                                message_state => pack('C', $r->{stat} eq 'DELIVRD' ? 2 : 5));
    $unacked->{$seq} = $taken;
    open my $log, '>>', "$dir/receipts.jsonl" or die $!;
    print $log $json->encode({id => $r->{id}, stat => $r->{stat}, at => time}), "\n";
    close $log;
}

sub send_mo {
    my ($smpp, $file) = @_;
    my $taken = "$file.sent-$$";
    rename $file, $taken or return;
    open my $fh, '<', $taken or return;
    my $m = $json->decode(do { local $/; <$fh> });
    close $fh;
    unlink $taken;
    my $ucs2 = $m->{text} =~ /[^\x00-\x7f]/;
    my $bytes = $ucs2 ? encode('UTF-16BE', $m->{text}) : $m->{text};
    my $parts = $m->{parts} || 1;
    my $size = int((length($bytes) + $parts - 1) / $parts);
    $size++ if $ucs2 && $size % 2;
    my $ref = int(rand(256));
    for my $i (1 .. $parts) {
        my $chunk = substr($bytes, ($i - 1) * $size, $size);
        my $udh = $parts > 1 ? pack('CCCCCC', 5, 0, 3, $ref, $parts, $i) : '';
        $smpp->deliver_sm(async => 1, source_addr_ton => 1, source_addr_npi => 1, source_addr => $m->{from},
                          dest_addr_ton => 1, dest_addr_npi => 1, destination_addr => $m->{to},
                          esm_class => $parts > 1 ? 0x40 : 0, data_coding => $ucs2 ? 8 : 0,
                          short_message => $udh . $chunk);
    }
}
