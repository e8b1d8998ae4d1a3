/**
 * What is known about /colibri/stats fields, as data. The mapper applies
 * rules to every field; this table only supplies names, types and HELP
 * texts where the rules alone would be wrong or poorer.
 *
 * SEED_FIELDS are the 61 families the original Go adapter
 * (rafpe/jitsi-jvb-prometheus-adapter) exported: their names (`jitsi_<key>`),
 * types and HELP texts are kept byte for byte, quirks included (the double
 * space in total_ice_succeeded_tcp, gauges for some total_* fields, counters
 * without `_total`), so that existing dashboards keep working.
 */

export type ScalarType = 'gauge' | 'counter';

export interface SeedField {
  readonly type: ScalarType;
  readonly help: string;
}

export const SEED_FIELDS: Readonly<Record<string, SeedField>> = {
  audiochannels: { type: 'gauge', help: 'The current number of audio channels.' },
  bit_rate_download: { type: 'gauge', help: 'The total incoming bitrate for the video bridge in kilobits per second.' },
  bit_rate_upload: { type: 'gauge', help: 'The total outgoing bitrate for the video bridge in kilobits per second.' },
  conferences: { type: 'gauge', help: 'The current number of conferences.' },
  endpoints_sending_audio: { type: 'gauge', help: 'Endpoint sending audio' },
  endpoints_sending_video: { type: 'gauge', help: 'Endpoint sending video' },
  inactive_conferences: { type: 'gauge', help: 'The number of inactive conferences (with no endpoints sending audio or video)' },
  inactive_endpoints: { type: 'gauge', help: 'Number of inactive endpoints' },
  incoming_loss: { type: 'gauge', help: 'The fraction of lost incoming RTP packets. This is based on RTP sequence numbers and is relatively accurate.' },
  jitter_aggregate: {
    type: 'gauge',
    help: "Experimental. An average value (in milliseconds) of the jitter calculated for incoming and outgoing streams. This hasn't been tested and it is currently not known whether the values are correct or not.",
  },
  largest_conference: { type: 'gauge', help: 'The number of participants in the largest conference currently hosted on the bridge.' },
  muc_clients_configured: { type: 'gauge', help: 'Number of configured MUC clients.' },
  muc_clients_connected: { type: 'gauge', help: 'Number of configured MUC clients that are connected to XMPP.' },
  mucs_configured: { type: 'gauge', help: 'Number of MUCs that are configured' },
  mucs_joined: { type: 'gauge', help: 'Number of MUCs that are joined.' },
  octo_conferences: { type: 'gauge', help: 'The current number of OCTO conferences.' },
  octo_endpoints: { type: 'gauge', help: 'The current number of OCTO endpoints.' },
  octo_receive_bitrate: { type: 'gauge', help: 'The total receiving bitrate for the OCTO video bridge in kilobits per second.' },
  octo_receive_packet_rate: { type: 'gauge', help: 'The total incoming packet rate for the OCTO video bridge in packets per second.' },
  octo_send_bitrate: { type: 'gauge', help: 'The total outgoing bitrate for the OCTO video bridge in kilobits per second.' },
  octo_send_packet_rate: { type: 'gauge', help: 'The total outgoing packet rate for the OCTO video bridge in packets per second.' },
  outgoing_loss: {
    type: 'gauge',
    help: 'The fraction of lost outgoing RTP packets. This is based on incoming RTCP Receiver Reports, and an attempt to subtract the fraction of packets that were not sent (i.e. were lost before they reached the bridge). Further, this is averaged over all streams of all users as opposed to all packets, so it is not correctly weighted. This is not accurate, but may be a useful metric nonetheless.',
  },
  p2p_conferences: { type: 'gauge', help: 'The current number of p2p conferences.' },
  packet_rate_download: { type: 'gauge', help: 'The total incoming packet rate for the video bridge in packets per second.' },
  packet_rate_upload: { type: 'gauge', help: 'The total outgoing packet rate for the video bridge in packets per second.' },
  participants: { type: 'gauge', help: 'The current number of participants.' },
  receive_only_endpoints: { type: 'gauge', help: 'The number of endpoints endpoints that have no audio or video, but are not inactive' },
  rtt_aggregate: { type: 'gauge', help: 'An average value (in milliseconds) of the RTT across all streams.' },
  stress_level: { type: 'gauge', help: 'Stress Level reported to Jicofo by the videobridge.' },
  threads: { type: 'gauge', help: 'The number of Java threads that the video bridge is using.' },
  total_bytes_received: { type: 'counter', help: 'Total bytes received.' },
  total_bytes_received_octo: { type: 'gauge', help: 'The total incoming bit rate for the OCTO video bridge in bytes per second.' },
  total_bytes_sent: { type: 'counter', help: 'The number of total bytes sent.' },
  total_bytes_sent_octo: { type: 'gauge', help: 'The total outgoing bit rate for the OCTO video bridge in bytes per second.' },
  total_colibri_web_socket_messages_received: { type: 'counter', help: 'The total number messages received through COLIBRI web sockets.' },
  total_colibri_web_socket_messages_sent: { type: 'counter', help: 'The total number messages sent through COLIBRI web sockets.' },
  total_conference_seconds: { type: 'counter', help: 'The sum of the lengths of all completed conferences, in seconds.' },
  total_conferences_completed: { type: 'counter', help: 'The total number of conferences completed on the bridge' },
  total_conferences_created: { type: 'counter', help: 'The total number of conferences created on the bridge.' },
  total_data_channel_messages_received: { type: 'counter', help: 'The total number messages received through data channels.' },
  total_data_channel_messages_sent: { type: 'counter', help: 'The total number messages sent through data channels.' },
  total_dominant_speaker_changes: { type: 'counter', help: 'The cumulative number of times the dominant speaker changed.' },
  total_failed_conferences: {
    type: 'counter',
    help: 'The total number of failed conferences on the bridge. A conference is marked as failed when all of its channels have failed. A channel is marked as failed if it had no payload activity.',
  },
  total_ice_failed: { type: 'counter', help: 'total number of times ICE failed.' },
  total_ice_succeeded: { type: 'counter', help: 'Total number of times ICE succeeded.' },
  total_ice_succeeded_relayed: { type: 'counter', help: 'Total number of times ICE succeeded.' },
  total_ice_succeeded_tcp: { type: 'counter', help: ' Total number of times ICE succeeded over TCP.' },
  total_loss_controlled_participant_seconds: { type: 'counter', help: 'The total number of participant-seconds that are loss-controlled.' },
  total_loss_degraded_participant_seconds: { type: 'counter', help: 'The total number of participant-seconds that are loss-degraded.' },
  total_loss_limited_participant_seconds: { type: 'counter', help: 'The total number of participant-seconds that are loss-limited.' },
  total_packets_dropped_octo: { type: 'gauge', help: 'The total of dropped packets handled by the OCTO video bridge.' },
  total_packets_received: { type: 'counter', help: 'Total number of packets received' },
  total_packets_received_octo: { type: 'gauge', help: 'The total of incoming dropped packets handled by the OCTO video bridge.' },
  total_packets_sent: { type: 'gauge', help: 'The total of sent packets handled by video bridge.' },
  total_packets_sent_octo: { type: 'gauge', help: 'The total of sent dropped packets handled by the OCTO video bridge.' },
  total_partially_failed_conferences: {
    type: 'counter',
    help: 'The total number of partially failed conferences on the bridge. A conference is marked as partially failed when some of its channels has failed. A channel is marked as failed if it had no payload activity.',
  },
  total_participants: { type: 'gauge', help: 'The current number of participants.' },
  videochannels: { type: 'gauge', help: 'The current number of video channels.' },
};

/** The array fields that become histograms (slot i: conferences with i endpoints; the last slot: that many or more). */
export const HISTOGRAM_FIELDS: Readonly<Record<string, string>> = {
  conference_sizes: 'Histogram of conference sizes',
  conferences_by_audio_senders: 'Histogram of conference by audio senders',
  conferences_by_video_senders: 'Histogram of conference by video senders',
};

/** Bucket bounds of those histograms, as the seed had them: le=0..20, then +Inf. */
export const HISTOGRAM_BOUNDS: readonly number[] = Array.from({ length: 21 }, (_, i) => i);

/** String fields that become labels of the one info metric. */
export const INFO_FIELDS: readonly string[] = ['version', 'release', 'region', 'relay_id'];
export const INFO_METRIC = { name: 'jitsi_bridge_info', help: 'Information about the bridge from /colibri/stats (version, release, region, relay_id); the value is always 1.' };

/** Fields deliberately not exported (and not counted as skipped): the report's own wall-clock time, in no declared zone. */
export const IGNORED_FIELDS: readonly string[] = ['current_timestamp'];

/**
 * HELP texts for fields the seed did not export, from JVB's documentation
 * and source (doc/statistics.md, VideobridgeStatisticsShim). Their names and
 * types follow the rules in map-colibri-stats.ts.
 */
export const EXTRA_FIELD_HELP: Readonly<Record<string, string>> = {
  average_participant_stress: 'The average stress level of the participants, as reported to Jicofo.',
  colibri2: 'Whether the bridge supports colibri2 (1) or not (0).',
  drain: 'Whether the bridge is draining: it takes no new conferences (1) or not (0).',
  dtls_failed_endpoints: 'The number of endpoints whose DTLS handshake failed.',
  dtls_failed_relays: 'The number of relays whose DTLS handshake failed.',
  endpoints: 'The current number of endpoints, local and relayed.',
  endpoints_disconnected: 'The number of endpoints that disconnected (ICE failure or closed transport).',
  endpoints_ice_failed: 'The number of endpoints whose ICE connection failed.',
  endpoints_reconnected: 'The number of endpoints that reconnected after a disconnection.',
  endpoints_with_high_outgoing_loss: 'The number of endpoints with high outgoing packet loss.',
  endpoints_with_spurious_remb: 'The number of endpoints that sent spurious REMB messages.',
  endpoints_with_suspended_sources: 'The number of endpoints with suspended sources.',
  graceful_shutdown: 'Whether the bridge is in graceful shutdown (1) or not (0).',
  healthy: 'Whether the bridge reports itself healthy (1) or not (0).',
  local_active_endpoints: 'The number of local endpoints in a conference where at least one endpoint sends audio or video.',
  local_endpoints: 'The current number of local (non-relayed) endpoints.',
  loss_rate_download: 'The fraction of lost incoming RTP packets (JVB 2.1.169 and older).',
  loss_rate_upload: 'The fraction of lost outgoing RTP packets (JVB 2.1.169 and older).',
  num_eps_no_msg_transport_after_delay: 'The number of endpoints with no message transport (bridge channel) established after a delay.',
  num_eps_oversending: 'The number of endpoints sending more video than the bridge forwards.',
  num_relays_no_msg_transport_after_delay: 'The number of relays with no message transport established after a delay.',
  overall_loss: 'The fraction of lost RTP packets, incoming and outgoing.',
  preemptive_kfr_sent: 'The number of preemptive keyframe requests sent.',
  preemptive_kfr_suppressed: 'The number of preemptive keyframe requests suppressed.',
  relays_ice_failed: 'The number of relays whose ICE connection failed.',
  rtp_loss: 'The fraction of lost RTP packets (JVB 2.1.169 and older).',
  shutting_down: 'Whether the bridge is shutting down (1) or not (0).',
  tcc_unmatched_feedback: 'The number of transport-cc feedback packets that matched no sent packet.',
  total_aimd_bwe_expirations: 'The total number of AIMD bandwidth estimation expirations.',
  total_keyframes_received: 'The total number of video keyframes received.',
  total_layering_changes_received: 'The total number of simulcast/SVC layering changes received.',
  total_relays: 'The total number of relays created.',
  total_video_stream_milliseconds_received: 'The total time during which video streams were received, converted to seconds.',
  total_visitors: 'The total number of visitors that joined.',
  videostreams: 'An estimation of the number of current video streams forwarded by the bridge (JVB 2.1.169 and older).',
  visitors: 'The current number of visitor endpoints.',
};
